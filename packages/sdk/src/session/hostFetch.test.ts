import { execFile, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { createServer as createTcpServer, type AddressInfo, type Socket } from "node:net";
import { afterEach, describe, expect, it, vi } from "vitest";
import { brotliCompressSync, constants, deflateRawSync, deflateSync, gzipSync } from "node:zlib";
import { HostContentEncodingError, HostResponseError, HostTimeoutError, HostUnreachableError, SessionReplayedError } from "../errors/host.ts";
import { SessionProtocolError } from "../errors/session.ts";
import { compressAnswer, compressions, type Compression } from "../testUtils/compressingHost.ts";
import { hostTransports } from "../testUtils/transports.ts";
import { writeForever } from "../testUtils/writeForever.ts";
import { waitFor } from "../testUtils/waitFor.ts";
import { transports } from "./hostAgents.node.ts";
import { fetchHost, maxErrorBytes, type HostBody } from "./hostFetch.ts";
import { finishIgnored, ignoredAnswerBytes, readJson, readText } from "./readBody.ts";

// fetchHost against real loopback hosts, over both transports (Node's node:http and a caller's
// fetch): each behaviour the SDK relies on holds on both, whatever the host does. Bounds are in
// bytes and in the SDK's own idle timeout, never in wall time.

vi.setConfig({ testTimeout: 60_000 });

/** Loopback socket buffers a host can fill beyond what the client read. */
const socketSlack = 16 * 1024 * 1024;

let servers: { close(callback: () => void): unknown }[] = [];
let sockets: Socket[] = [];
afterEach(async () => {
  for (const socket of sockets) socket.destroy();
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(() => resolve(undefined)))));
  servers = [];
  sockets = [];
});

async function listen(server: Server | ReturnType<typeof createTcpServer>): Promise<string> {
  servers.push(server);
  server.on("connection", (socket: Socket) => sockets.push(socket));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** An HTTP host answering each request with `answer`; counts its connections. */
async function httpHost(answer: (request: IncomingMessage, response: ServerResponse) => void, options: { keepAliveTimeout?: number } = {}) {
  const server = createServer(options, answer);
  const host = { url: await listen(server), connections: 0 };
  server.on("connection", () => (host.connections += 1));
  return host;
}

/** A host that writes raw bytes, HTTP or not, on each connection. */
async function rawHost(answer: (socket: Socket) => void): Promise<string> {
  return listen(createTcpServer(answer));
}

const get = { headers: { accept: "application/json" } };

/** Reads until the body fails; returns what arrived and the error. */
async function readUntilFailure(body: HostBody): Promise<{ text: string; error: unknown }> {
  let text = "";
  for (;;) {
    const next = await body.read().catch((error: unknown) => ({ error }));
    if ("error" in next) return { text, error: next.error };
    if (next.done) return { text, error: undefined };
    text += Buffer.from(next.value).toString();
  }
}

const closed = (emitter: ServerResponse | Socket) => new Promise<void>((resolve) => (emitter.destroyed ? resolve() : emitter.once("close", () => resolve())));

describe.each(hostTransports)("fetchHost over %s", (transportName, transport) => {
  describe("the idle timeout", () => {
    it("a host that accepts and never answers: HostUnreachableError with code ETIMEDOUT, its cause the HostTimeoutError", async () => {
      const host = await httpHost(() => undefined);
      const error = await fetchHost(host.url, get, { ...transport, timeoutMs: 100 }).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(HostUnreachableError);
      expect((error as HostUnreachableError).code).toBe("ETIMEDOUT");
      expect((error as HostUnreachableError).cause).toBeInstanceOf(HostTimeoutError);
    });

    it("counts for each read: a host silent in the middle of its answer fails the read, and every read after, with the same error", async () => {
      const host = await httpHost((_request, response) => void response.writeHead(200).write("first"));
      // Long enough that the headers and first bytes, sent at once, beat it on a loaded machine (100 ms missed them once).
      const body = await fetchHost(host.url, get, { ...transport, timeoutMs: 1_000 });
      const { text, error } = await readUntilFailure(body);
      expect(text).toBe("first");
      expect(error).toBeInstanceOf(HostUnreachableError);
      expect((error as HostUnreachableError).code).toBe("ETIMEDOUT");
      await expect(body.read()).rejects.toBe(error);
      await body.cancel();
      await expect(body.read()).rejects.toBe(error);
    });
  });

  describe("the caller's abort", () => {
    it("is thrown as its reason by the request, and the host sees the client go away", async () => {
      let requested!: (response: ServerResponse) => void;
      const request = new Promise<ServerResponse>((resolve) => (requested = resolve));
      const host = await httpHost((_request, response) => requested(response));
      const controller = new AbortController();
      const reason = { why: "the user stopped" };
      const sent = fetchHost(host.url, get, { ...transport, signal: controller.signal });
      const response = await request;
      controller.abort(reason);
      await expect(sent).rejects.toBe(reason);
      await closed(response);
    });

    /** A body read past its first bytes ("first"), the host's answer held open, and the controller that aborts the read. */
    async function bodyPastFirstBytes() {
      let answering!: (response: ServerResponse) => void;
      const answer = new Promise<ServerResponse>((resolve) => (answering = resolve));
      const host = await httpHost((_request, response) => {
        response.writeHead(200).write("first");
        answering(response);
      });
      const controller = new AbortController();
      const body = await fetchHost(host.url, get, { ...transport, signal: controller.signal });
      expect(Buffer.from((await body.read()).value!).toString()).toBe("first");
      return { body, controller, response: await answer };
    }

    it("is thrown as its reason by a read of the body, and the host sees the client go away", async () => {
      const { body, controller, response } = await bodyPastFirstBytes();
      const reason = new Error("the user stopped");
      const reading = body.read();
      controller.abort(reason);
      await expect(reading).rejects.toBe(reason);
      await expect(body.read()).rejects.toBe(reason);
      await closed(response);
    });

    it("hands out no bytes that arrived before it", async () => {
      const { body, controller, response } = await bodyPastFirstBytes();
      const reason = new Error("the user stopped");
      await new Promise((resolve) => response.write("second", resolve));
      // A turn of the event loop for the client to take in what the host wrote (both ends are in this process).
      for (let turn = 0; turn < 2; turn++) await new Promise(setImmediate);
      controller.abort(reason);
      await expect(body.read()).rejects.toBe(reason);
    });
  });

  describe("a refusal", () => {
    it("is the typed error for its code", async () => {
      const host = await httpHost((_request, response) =>
        response.writeHead(409, { "content-type": "application/json" }).end(JSON.stringify({ error: { code: "session_replayed", message: "seen" } })),
      );
      const error = await fetchHost(host.url, get, transport).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(SessionReplayedError);
      expect(error).toMatchObject({ status: 409, hostMessage: "seen" });
    });

    it("that never ends is read no further than maxErrorBytes (plus socket buffers), then its connection dropped", async () => {
      let written = 0;
      const host = await httpHost((_request, response) => {
        response.writeHead(500);
        void writeForever(response, "x", (bytes) => (written += bytes));
      });
      const error = await fetchHost(host.url, get, transport).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(HostResponseError);
      expect((error as HostResponseError).hostMessage).toMatch(/^x+$/);
      expect(written).toBeLessThanOrEqual(maxErrorBytes + socketSlack);
    });
  });

  describe("a redirect", () => {
    it("is not followed: the signed request goes to the host named, and the 3xx is a HostResponseError", async () => {
      const paths: string[] = [];
      const host = await httpHost((request, response) => {
        paths.push(request.url!);
        if (request.url === "/elsewhere") return void response.writeHead(200).end("{}");
        response.writeHead(307, { location: "/elsewhere" }).end();
      });
      const error = await fetchHost(`${host.url}/v1/chat`, { method: "POST", headers: {}, body: new Uint8Array(2) }, transport).catch(
        (caught: unknown) => caught,
      );
      expect(error).toBeInstanceOf(HostResponseError);
      expect((error as HostResponseError).status).toBe(307);
      expect(paths).toEqual(["/v1/chat"]);
    });
  });

  describe("a connection that fails", () => {
    it("refused: HostUnreachableError with code ECONNREFUSED, keeping its cause", async () => {
      const url = await httpHost(() => undefined).then((host) => host.url);
      await Promise.all(servers.map((server) => new Promise((resolve) => server.close(() => resolve(undefined)))));
      servers = [];
      const error = await fetchHost(url, get, transport).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(HostUnreachableError);
      expect((error as HostUnreachableError).code).toBe("ECONNREFUSED");
      expect((error as HostUnreachableError).cause).toBeInstanceOf(Error);
    });

    it("closed in the middle of a chunk: HostUnreachableError keeping its cause, and the body keeps failing with it", async () => {
      const url = await rawHost((socket) => socket.end("HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nfirst\r\n10\r\nhalf"));
      const body = await fetchHost(url, get, transport);
      const { error } = await readUntilFailure(body);
      expect(error).toBeInstanceOf(HostUnreachableError);
      expect((error as HostUnreachableError).cause).toBeDefined();
      expect((error as HostUnreachableError).code).not.toBe("ETIMEDOUT");
      await expect(body.read()).rejects.toBe(error);
    });

    it("invalid chunked encoding: HostUnreachableError at once that names the parser's error, not a wait for the idle timeout", async () => {
      const url = await rawHost((socket) => socket.write("HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nfirst\r\nzz\r\nmore\r\n"));
      const body = await fetchHost(url, get, transport);
      const { error } = await readUntilFailure(body);
      expect(error).toBeInstanceOf(HostUnreachableError);
      expect((error as HostUnreachableError).code).toBe("HPE_INVALID_CHUNK_SIZE");
    });

    it("headers that never end: HostUnreachableError once they pass the header size limit, the host stopped from writing on", async () => {
      let written = 0;
      const url = await rawHost((socket) => {
        socket.on("error", () => undefined);
        socket.write("HTTP/1.1 200 OK\r\n");
        void writeForever(socket, "x-filler: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n", (bytes) => (written += bytes));
      });
      const error = await fetchHost(url, get, transport).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(HostUnreachableError);
      expect((error as HostUnreachableError).code).not.toBe("ETIMEDOUT");
      expect(written).toBeLessThanOrEqual(socketSlack);
    });
  });

  describe("a body", () => {
    it("in thousands of tiny chunks arrives whole and in order", async () => {
      const pieces = Array.from({ length: 5_000 }, (_, index) => String(index % 10));
      const host = await httpHost((_request, response) => {
        response.writeHead(200);
        for (const piece of pieces) response.write(piece);
        response.end();
      });
      expect(await readText(await fetchHost(host.url, get, transport))).toBe(pieces.join(""));
    });

    it("without end, cancelled: the host sees the client go away, and reads after it are done", async () => {
      let answering!: (response: ServerResponse) => void;
      const answer = new Promise<ServerResponse>((resolve) => (answering = resolve));
      const host = await httpHost((_request, response) => {
        response.writeHead(200);
        answering(response);
        void writeForever(response, "data: word\n\n");
      });
      const body = await fetchHost(host.url, get, transport);
      expect((await body.read()).done).toBe(false);
      await body.cancel();
      await closed(await answer);
      expect((await body.read()).done).toBe(true);
    });
  });

  describe("a compressed answer (a proxy that compresses whatever the request asked)", () => {
    it.each(Object.keys(compressions) as Compression[])("%s: read decoded, as the host wrote it", async (encoding) => {
      const answer = JSON.stringify({ id: "chatcmpl-1", choices: [{ message: { content: "word ".repeat(2_000) } }] });
      const host = await httpHost((_request, response) => compressAnswer(response, encoding).encoder.end(answer));
      expect(await readJson(await fetchHost(host.url, get, transport))).toEqual(JSON.parse(answer));
    });

    it("a refusal is read decoded into the typed error for its code", async () => {
      const host = await httpHost((_request, response) => {
        response.writeHead(409, { "content-encoding": "gzip" });
        response.end(gzipSync(JSON.stringify({ error: { code: "session_replayed", message: "seen" } })));
      });
      const error = await fetchHost(host.url, get, transport).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(SessionReplayedError);
      expect(error).toMatchObject({ status: 409, hostMessage: "seen" });
    });

    it.each(Object.keys(compressions) as Compression[])("%s, streamed and flushed: each event arrives before the answer ends", async (encoding) => {
      let firstRead!: () => void;
      const clientHasFirst = new Promise<void>((resolve) => (firstRead = resolve));
      const host = await httpHost((_request, response) => {
        const { encoder, flushed } = compressAnswer(response, encoding, { "content-type": "text/event-stream" });
        void flushed("data: one\n\n").then(async () => {
          await clientHasFirst;
          encoder.end("data: two\n\n");
        });
      });
      const body = await fetchHost(host.url, get, transport);
      let text = "";
      while (!text.includes("data: one\n\n")) text += Buffer.from((await body.read()).value!).toString();
      firstRead();
      expect(text + (await readText(body))).toBe("data: one\n\ndata: two\n\n");
    });

    it("silent after its first flushed bytes: the idle timeout counts decoded bytes, HostUnreachableError ETIMEDOUT", async () => {
      const host = await httpHost((_request, response) => void compressAnswer(response, "gzip").flushed("first"));
      const body = await fetchHost(host.url, get, { ...transport, timeoutMs: 100 });
      const { text, error } = await readUntilFailure(body);
      expect(text).toBe("first");
      expect((error as HostUnreachableError).code).toBe("ETIMEDOUT");
    });

    it.each(Object.keys(compressions) as Compression[])(
      "%s that is corrupt: HostUnreachableError at once (the connection held open), and the body keeps failing with it",
      async (encoding) => {
        const compress = { gzip: gzipSync, deflate: deflateSync, "raw deflate": deflateRawSync, br: brotliCompressSync }[encoding];
        const corrupt = Buffer.concat([compress(Buffer.from("first ".repeat(1_000))).subarray(0, 12), Buffer.alloc(64, 0xff)]);
        const host = await httpHost((_request, response) => void response.writeHead(200, { "content-encoding": compressions[encoding].coding }).write(corrupt));
        const body = await fetchHost(host.url, get, transport);
        const { error } = await readUntilFailure(body);
        expect(error).toBeInstanceOf(HostUnreachableError);
        expect((error as HostUnreachableError).code).not.toBe("ETIMEDOUT");
        expect((error as HostUnreachableError).cause).toBeDefined();
        await expect(body.read()).rejects.toBe(error);
      },
    );

    it.each(Object.keys(compressions) as Compression[])(
      "%s cut short in its data, the HTTP message whole (a proxy that cut it): HostUnreachableError Z_BUF_ERROR on both transports, never a protocol error",
      async (encoding) => {
        const compress = { gzip: gzipSync, deflate: deflateSync, "raw deflate": deflateRawSync, br: brotliCompressSync }[encoding];
        const whole = compress(Buffer.from(JSON.stringify({ choices: [{ message: { content: "word ".repeat(2_000) } }] })));
        // fetch decodes what arrived and ends without error (undici and browsers alike): the answer read is not the JSON it must be.
        for (const cut of [whole.subarray(0, whole.length / 2), whole.subarray(0, whole.length - 20), whole.subarray(0, 3)]) {
          const host = await httpHost((_request, response) => void response.writeHead(200, { "content-encoding": compressions[encoding].coding }).end(cut));
          const error = await readJson(await fetchHost(host.url, get, transport)).catch((caught: unknown) => caught);
          expect(error).toBeInstanceOf(HostUnreachableError);
          expect((error as HostUnreachableError).code).toBe("Z_BUF_ERROR");
        }
      },
    );

    it.each(Object.keys(compressions) as Compression[])(
      "%s whole but not JSON (a proxy's error page): a protocol error on both transports, not taken for an answer cut short",
      async (encoding) => {
        const compress = { gzip: gzipSync, deflate: deflateSync, "raw deflate": deflateRawSync, br: brotliCompressSync }[encoding];
        const page = compress(Buffer.from("<html>Bad gateway</html>"));
        const host = await httpHost((_request, response) => void response.writeHead(200, { "content-encoding": compressions[encoding].coding }).end(page));
        const error = await readJson(await fetchHost(host.url, get, transport)).catch((caught: unknown) => caught);
        expect(error).toBeInstanceOf(SessionProtocolError);
      },
    );

    // A coding beside `identity` or an empty one is handed on undecoded by undici and Chromium alike
    // (each stops at a token it does not know), so neither transport can read it the same way: refused.
    it.each(["zstd", "compress", "gzip, zstd", "gzip, identity", "identity, br", "gzip,"])(
      "in a coding the SDK does not decode, or one not alone (%s): a typed error, not its bytes, and the status kept",
      async (encoding) => {
        const host = await httpHost((_request, response) => void response.writeHead(200, { "content-encoding": encoding }).end(gzipSync("{}")));
        const body = await fetchHost(host.url, get, transport);
        const { text, error } = await readUntilFailure(body);
        expect(text).toBe("");
        expect(error).toBeInstanceOf(HostUnreachableError);
        expect((error as HostUnreachableError).code).toBe("ERR_CONTENT_ENCODING");
        expect((error as HostUnreachableError).cause).toBeInstanceOf(HostContentEncodingError);
        const refusal = await httpHost((_request, response) => void response.writeHead(503, { "content-encoding": encoding }).end(gzipSync("(")));
        expect(await fetchHost(refusal.url, get, transport).catch((caught: unknown) => caught)).toMatchObject({ status: 503, hostMessage: "" });
      },
    );

    // fetch cannot tell that an answer has arrived (`arrived()` is false), so it reads none of it ahead.
    it.runIf(transportName === "node:http").each(Object.keys(compressions) as Compression[])(
      "in %s, that has wholly arrived but decodes to far more: an ignored answer is read (and decoded) no further than ignoredAnswerBytes",
      async (encoding) => {
        // 64 MiB of zeros is 51 bytes of brotli and ~64 KiB in the others, all of it in the client's socket at once.
        const zeros = Buffer.alloc(64 * 1024 * 1024);
        const bomb = {
          gzip: () => gzipSync(zeros, { level: 9 }),
          deflate: () => deflateSync(zeros, { level: 9 }),
          "raw deflate": () => deflateRawSync(zeros, { level: 9 }),
          br: () => brotliCompressSync(zeros, { params: { [constants.BROTLI_PARAM_QUALITY]: 5 } }),
        }[encoding]();
        const host = await httpHost(
          (_request, response) =>
            void response.writeHead(200, { "content-encoding": compressions[encoding].coding, "content-length": String(bomb.byteLength) }).end(bomb),
        );
        const body = await fetchHost(host.url, get, transport);
        await waitFor(() => body.arrived());
        let read = 0;
        const readNext = body.read.bind(body);
        body.read = async () => {
          const next = await readNext();
          if (!next.done) read += next.value.byteLength;
          return next;
        };
        await finishIgnored(body);
        expect(read).toBeGreaterThan(0);
        expect(read).toBeLessThanOrEqual(ignoredAnswerBytes + 64 * 1024);
      },
    );

    it.runIf(transportName === "node:http")("aborted after it wholly arrived: the next read throws the abort's reason, as before it arrived", async () => {
      const answer = gzipSync(Buffer.alloc(8 * 1024 * 1024, 0x61));
      const host = await httpHost(
        (_request, response) => void response.writeHead(200, { "content-encoding": "gzip", "content-length": String(answer.byteLength) }).end(answer),
      );
      const stop = new AbortController();
      const body = await fetchHost(host.url, get, { ...transport, signal: stop.signal });
      expect((await body.read()).done).toBe(false);
      await waitFor(() => body.arrived());
      const reason = new Error("the caller left");
      stop.abort(reason);
      await expect(readText(body)).rejects.toBe(reason);
    });

    it.each([204, 200])("empty, with status %i, but labelled gzip: an empty body", async (status) => {
      const host = await httpHost((_request, response) => void response.writeHead(status, { "content-encoding": "gzip", "content-length": "0" }).end());
      expect(await readText(await fetchHost(host.url, get, transport))).toBe("");
    });

    it.each(["identity", "Identity ", "identity, , IDENTITY"])("%s (no coding at all) is read as it is", async (encoding) => {
      const host = await httpHost((_request, response) => response.writeHead(200, { "content-encoding": encoding }).end("{}"));
      expect(await readText(await fetchHost(host.url, get, transport))).toBe("{}");
    });

    it("without end, cancelled: the host sees the client go away", async () => {
      let answering!: (response: ServerResponse) => void;
      const answer = new Promise<ServerResponse>((resolve) => (answering = resolve));
      const host = await httpHost((_request, response) => {
        const { encoder } = compressAnswer(response, "gzip");
        answering(response);
        void writeForever(encoder as unknown as ServerResponse, "data: word\n\n");
      });
      const body = await fetchHost(host.url, get, transport);
      expect((await body.read()).done).toBe(false);
      await body.cancel();
      await closed(await answer);
      expect((await body.read()).done).toBe(true);
    });

    it("aborted mid-body: the read throws the abort's reason, and the host sees the client go away", async () => {
      let answering!: (response: ServerResponse) => void;
      const answer = new Promise<ServerResponse>((resolve) => (answering = resolve));
      const host = await httpHost(
        (_request, response) =>
          void compressAnswer(response, "br")
            .flushed("first")
            .then(() => answering(response)),
      );
      const controller = new AbortController();
      const body = await fetchHost(host.url, get, { ...transport, signal: controller.signal });
      expect(Buffer.from((await body.read()).value!).toString()).toBe("first");
      const reason = new Error("the user stopped");
      const reading = body.read();
      controller.abort(reason);
      await expect(reading).rejects.toBe(reason);
      await closed(await answer);
    });
  });

  describe("keep-alive", () => {
    // The requests follow each other within milliseconds: far inside the half second the SDK keeps
    // a connection to a host that closes idle ones after a second.
    it.runIf(transportName === "node:http")(
      "a host that closes idle connections after a second (Keep-Alive: timeout=1): requests one after another still share one connection",
      async () => {
        const host = await httpHost((_request, response) => response.writeHead(200).end('{"stored":true}'), { keepAliveTimeout: 1_000 });
        for (let request = 0; request < 3; request++) expect(await readText(await fetchHost(host.url, get, transport))).toBe('{"stored":true}');
        expect(host.connections).toBe(1);
      },
    );

    it.runIf(transportName === "node:http").each([
      ["timeout=1", 500],
      ["max=100, timeout=1", 500],
      ["timeout=3", 2_000],
      ["timeout=60", 5_000],
      // Quoted (RFC 2068 allows it), after a semicolon, or in two header lines (read joined): the shortest counts.
      ['timeout="1"', 500],
      ["max=5;timeout=1", 500],
      [["timeout=60", "timeout=1"], 500],
    ] as [string | string[], number][])("Keep-Alive: %s: the idle connection is kept %i ms, less than the host keeps it", async (keepAlive, idleMs) => {
      const host = await httpHost((_request, response) => response.writeHead(200, { "keep-alive": keepAlive }).end("{}"));
      expect(await readText(await fetchHost(host.url, get, transport))).toBe("{}");
      const idle = () =>
        Object.entries(transports["http:"].agent.freeSockets).find(([name]) => name.startsWith(new URL(host.url).hostname + ":" + new URL(host.url).port))?.[1];
      await waitFor(() => idle()?.length === 1);
      expect(idle()![0]!.timeout).toBe(idleMs);
    });

    it("a POST on a reused connection that the host drops unanswered (its idle close racing the request): HostUnreachableError, the request never sent again", async () => {
      let arrived = 0;
      const host = await httpHost((request, response) => {
        arrived += 1;
        if (arrived === 1) return void response.writeHead(200).end("{}");
        request.socket.destroy();
      });
      const post = { method: "POST" as const, headers: {}, body: new TextEncoder().encode("{}") };
      expect(await readText(await fetchHost(host.url, post, transport))).toBe("{}");
      const error = await fetchHost(host.url, post, transport).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(HostUnreachableError);
      expect(arrived).toBe(2);
      // node:http sent it on the first answer's connection (undici may open another for it).
      if (transportName === "node:http") expect(host.connections).toBe(1);
    });

    it.each(["as they are", "gzip"])(
      "requests one after another share one connection, answers (%s) read to their end or ignored after their first bytes",
      async (encoding) => {
        let finished = 0;
        const host = await httpHost((_request, response) => {
          response.on("finish", () => (finished += 1));
          // The end comes in a write of its own, later than the bytes (as a host's chunked answer may):
          // the client has read them and has no read waiting when it arrives.
          if (encoding !== "gzip") {
            response.writeHead(200).write('{"stored":true}');
            return void setTimeout(() => response.end(), 5);
          }
          const { encoder, flushed } = compressAnswer(response, "gzip");
          void flushed('{"stored":true}').then(() => setTimeout(() => encoder.end(), 5));
        });
        // The next request goes once the host wrote its answer and the client had a turn to take it
        // in, and one more: undici frees a connection in a setImmediate after the answer's end, which
        // came after the first turn's (it failed one run in two with the CPU taken, on the old code too).
        const answered = async (count: number) => {
          await waitFor(() => finished === count);
          for (let turn = 0; turn < 2; turn++) await new Promise(setImmediate);
        };
        expect(await readText(await fetchHost(host.url, get, transport))).toBe('{"stored":true}');
        await answered(1);
        for (let request = 2; request <= 4; request++) {
          await fetchHost(host.url, get, transport);
          await answered(request);
        }
        expect(await readText(await fetchHost(host.url, get, transport))).toBe('{"stored":true}');
        expect(host.connections).toBe(1);
      },
    );
  });
});

/** Runs `script` (an ES module) in a child Node that loads the SDK from its sources, as the tests do. */
async function runInChildNode(script: string, env: Record<string, string>): Promise<string> {
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;
  const args = ["--conditions=@session-jobs/source", "--import", tsx, "--input-type=module", "-e", script];
  const { stdout } = await promisify(execFile)(process.execPath, args, { env: { ...process.env, ...env } });
  return stdout;
}

const hasOpenssl = spawnSync("openssl", ["version"]).status === 0;

describe.skipIf(!hasOpenssl)("an https: host", () => {
  it("is reached over both transports where Node trusts its certificate (NODE_EXTRA_CA_CERTS), and refused with a TLS code where it does not", async () => {
    const dir = mkdtempSync(join(tmpdir(), "sdk-tls-"));
    const [key, cert] = [join(dir, "key.pem"), join(dir, "cert.pem")];
    const subject = ["-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"];
    await promisify(execFile)("openssl", [
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-nodes",
      "-days",
      "1",
      "-keyout",
      key,
      "-out",
      cert,
      ...subject,
    ]);
    const server = createHttpsServer({ key: readFileSync(key), cert: readFileSync(cert) }, (_request, response) => response.writeHead(200).end('{"ok":true}'));
    const url = (await listen(server)).replace("http:", "https:");
    const script = `
      const { fetchHost } = await import(${JSON.stringify(fileURLToPath(new URL("./hostFetch.ts", import.meta.url)))});
      const { readText } = await import(${JSON.stringify(fileURLToPath(new URL("./readBody.ts", import.meta.url)))});
      for (const options of [{}, { fetch: globalThis.fetch }]) {
        const outcome = await fetchHost(process.env.HOST_URL, { headers: {} }, options).then(readText, (error) => error.name + " " + error.code);
        console.log(outcome);
      }`;
    expect(await runInChildNode(script, { HOST_URL: url, NODE_EXTRA_CA_CERTS: cert })).toBe('{"ok":true}\n{"ok":true}\n');
    const untrusted = (await runInChildNode(script, { HOST_URL: url })).trim().split("\n");
    expect(untrusted).toHaveLength(2);
    for (const line of untrusted) expect(line).toMatch(/^HostUnreachableError [A-Z_]*CERT/);
  });
});

describe("in Node, with no `fetch` option", () => {
  it("reaches the host without fetch (node:http)", async () => {
    const fetchSpy = vi.spyOn(globalThis, "fetch");
    try {
      const host = await httpHost((_request, response) => response.writeHead(200).end("{}"));
      expect(await readText(await fetchHost(host.url, get, {}))).toBe("{}");
      expect(fetchSpy).not.toHaveBeenCalled();
    } finally {
      fetchSpy.mockRestore();
    }
  });
});
