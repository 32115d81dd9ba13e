import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { constants, deflateRawSync, deflateSync, gzipSync } from "node:zlib";
import { afterEach, describe, expect, it, vi } from "vitest";
import { chat } from "../actions/chat.ts";
import { streamChat } from "../actions/streamChat.ts";
import { HostResponseError, HostUnreachableError } from "../errors/host.ts";
import { HostAnswerTooLargeError, SessionProtocolError } from "../errors/session.ts";
import { startOffChainSession } from "../testUtils/offChainSession.ts";
import { hostTransports } from "../testUtils/transports.ts";
import { writeForever } from "../testUtils/writeForever.ts";
import { maxErrorBytes } from "./hostFetch.ts";
import { maxAnswerBytes } from "./readBody.ts";
import { deliverReceipt } from "./receiptDelivery.ts";
import type { Session } from "./types.ts";

// A host written to misbehave, over real loopback HTTP: every read of its bytes stops at a bound,
// whatever it sends, and ends in a typed error. Memory is bounded by what the SDK lets the host
// write (counted at the host, with backpressure), not by wall time.

// 64 MiB over loopback on a loaded machine: give each test room; the bounds are in bytes.
vi.setConfig({ testTimeout: 60_000 });

/** Loopback socket buffers the host can fill beyond what the SDK read. */
const socketSlack = 16 * 1024 * 1024;

type Misbehaviour = (request: IncomingMessage, response: ServerResponse) => void | Promise<void>;
let server: Server | undefined;
let written = 0;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined));
  server = undefined;
});

/** A fresh session whose host answers every request with `misbehave`. */
async function sessionWithHost(misbehave: Misbehaviour): Promise<Session> {
  written = 0;
  server = createServer((request, response) => void misbehave(request, response));
  await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
  const { session, host } = await startOffChainSession();
  await host.stop();
  return { ...session, hostUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

/** Writes `piece` without end, counting it in {@link written}. */
const writeEndlessly = (response: ServerResponse, piece: string | Buffer) => writeForever(response, piece, (bytes) => (written += bytes));

const messages = [{ role: "user" as const, content: "Hi" }];
describe.each(hostTransports)("over %s", (_transport, transport) => {
  const consume = async (session: Session) => {
    for await (const _delta of streamChat(session, { messages, ...transport }));
  };

  describe("a host that sends without end", () => {
    it("an error body: read at most 64 KiB, a typed HostResponseError", async () => {
      const session = await sessionWithHost((_request, response) => {
        response.writeHead(500, { "content-type": "application/json" });
        return writeEndlessly(response, '{"error":');
      });
      await expect(chat(session, { messages, ...transport })).rejects.toBeInstanceOf(HostResponseError);
      expect(written).toBeLessThanOrEqual(maxErrorBytes + socketSlack);
    });

    it("a JSON answer: read at most 64 MiB, HostAnswerTooLargeError, session disputed", async () => {
      const session = await sessionWithHost((_request, response) => {
        response.writeHead(200, { "content-type": "application/json" });
        return writeEndlessly(response, "[");
      });
      await expect(chat(session, { messages, ...transport })).rejects.toBeInstanceOf(HostAnswerTooLargeError);
      expect(written).toBeLessThanOrEqual(maxAnswerBytes + socketSlack);
      expect(session.dispute).toBeDefined();
    });

    it.each([
      ["`data:` lines without a blank line", `data: ${"x".repeat(4089)}\n`],
      ["bytes without any newline", "x"],
    ])("an SSE stream of %s: read at most 64 MiB, HostAnswerTooLargeError", async (_name, piece) => {
      const session = await sessionWithHost((_request, response) => {
        response.writeHead(200, { "content-type": "text/event-stream" });
        return writeEndlessly(response, piece);
      });
      await expect(consume(session)).rejects.toBeInstanceOf(HostAnswerTooLargeError);
      expect(written).toBeLessThanOrEqual(maxAnswerBytes + socketSlack);
      expect(session.dispute).toBeDefined();
    });
  });

  it.each([
    ["gzip", gzipSync],
    ["deflate", deflateSync],
  ] as const)(
    "a proxy that cuts a %s chat answer short (the HTTP message whole): HostUnreachableError, the session not disputed, to sync before its next request",
    async (coding, compress) => {
      const answer = compress(JSON.stringify({ choices: [{ message: { content: "word ".repeat(500) } }], session: { jobId: "1" } }));
      const session = await sessionWithHost((_request, response) => {
        response.writeHead(200, { "content-type": "application/json", "content-encoding": coding }).end(answer.subarray(0, answer.length / 2));
      });
      const error = await chat(session, { messages, ...transport }).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(HostUnreachableError);
      expect((error as HostUnreachableError).code).toBe("Z_BUF_ERROR");
      expect([session.dispute, session.resync]).toEqual([undefined, true]);
    },
  );

  describe("a proxy that compresses a host's endless answer (a decompression bomb)", () => {
    const mebibyteOf = (piece: string) => Buffer.from(piece.repeat((1024 * 1024) / piece.length));
    /** A gzip member of 1 MiB of `piece`: about a kilobyte that decodes to a mebibyte, sent again and again. */
    const bomb = (piece: string) => gzipSync(mebibyteOf(piece));
    /** Deflate blocks of 1 MiB of `piece` that refer to nothing before them, so they can be sent again and again. */
    const deflateBlocks = (piece: string) => deflateRawSync(mebibyteOf(piece), { finishFlush: constants.Z_FULL_FLUSH });
    const bombs = {
      gzip: { coding: "gzip", start: Buffer.alloc(0), again: bomb },
      deflate: { coding: "deflate", start: deflateSync(Buffer.alloc(0)).subarray(0, 2), again: deflateBlocks },
      "raw deflate": { coding: "deflate", start: Buffer.alloc(0), again: deflateBlocks },
    };

    it.each(Object.keys(bombs) as (keyof typeof bombs)[])(
      "a JSON answer in %s: decoded no further than 64 MiB, HostAnswerTooLargeError, session disputed, the proxy held to socket buffers",
      async (compression) => {
        const { coding, start, again } = bombs[compression];
        const session = await sessionWithHost((_request, response) => {
          response.writeHead(200, { "content-type": "application/json", "content-encoding": coding }).write(start);
          return writeEndlessly(response, again("["));
        });
        await expect(chat(session, { messages, ...transport })).rejects.toBeInstanceOf(HostAnswerTooLargeError);
        expect(written).toBeLessThanOrEqual(socketSlack);
        expect(session.dispute).toBeDefined();
      },
    );

    it("an SSE stream of bytes without any newline: decoded no further than 64 MiB, HostAnswerTooLargeError, the proxy held to socket buffers", async () => {
      const session = await sessionWithHost((_request, response) => {
        response.writeHead(200, { "content-type": "text/event-stream", "content-encoding": "gzip" });
        return writeEndlessly(response, bomb("x"));
      });
      await expect(consume(session)).rejects.toBeInstanceOf(HostAnswerTooLargeError);
      expect(written).toBeLessThanOrEqual(socketSlack);
      expect(session.dispute).toBeDefined();
    });
  });

  describe("a host that sends an event that is not JSON, then words without end", () => {
    it("gets a SessionProtocolError and its connection closed: the SDK stops it from writing on", async () => {
      let closed!: () => void;
      const connectionClosed = new Promise<void>((resolve) => (closed = resolve));
      const session = await sessionWithHost((_request, response) => {
        response.once("close", closed);
        response.writeHead(200, { "content-type": "text/event-stream" });
        response.write("data: {not json\n\n");
        return writeEndlessly(response, 'data: {"choices":[{"delta":{"content":"word "}}]}\n\n');
      });
      await expect(consume(session)).rejects.toBeInstanceOf(SessionProtocolError);
      await connectionClosed;
      expect(written).toBeLessThanOrEqual(socketSlack);
    });
  });

  describe("a host that sends headers and then fails", () => {
    it("goes silent after an error status: HostResponseError once the idle timeout passes", async () => {
      const session = await sessionWithHost((_request, response) => void response.writeHead(502, { "content-type": "application/json" }).flushHeaders());
      const error = await chat(session, { messages, timeoutMs: 200, ...transport }).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(HostResponseError);
      expect((error as HostResponseError).status).toBe(502);
    });

    it("goes silent after 200 on a stream: HostUnreachableError with code ETIMEDOUT, and the session can sync", async () => {
      const session = await sessionWithHost((_request, response) => void response.writeHead(200, { "content-type": "text/event-stream" }).flushHeaders());
      const error = await streamChat(session, { messages, timeoutMs: 200, ...transport }).result.catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(HostUnreachableError);
      expect((error as HostUnreachableError).code).toBe("ETIMEDOUT");
      expect(session).toMatchObject({ resync: true, brokenOff: "connection" });
      expect(session.dispute).toBeUndefined();
    });

    it("never sends its headers: HostUnreachableError with code ETIMEDOUT", async () => {
      const session = await sessionWithHost(() => undefined);
      const error = await chat(session, { messages, timeoutMs: 200, ...transport }).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(HostUnreachableError);
      expect((error as HostUnreachableError).code).toBe("ETIMEDOUT");
    });

    it("drops the connection after its headers: HostUnreachableError that keeps its cause", async () => {
      const session = await sessionWithHost((_request, response) => {
        response.writeHead(200, { "content-type": "application/json" }).flushHeaders();
        setImmediate(() => response.socket?.destroy());
      });
      const error = await chat(session, { messages, ...transport }).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(HostUnreachableError);
      expect((error as HostUnreachableError).cause).toBeDefined();
      expect((error as HostUnreachableError).details).not.toBe("");
    });
  });

  describe("a host that acknowledges a receipt and never ends its answer", () => {
    it.each([
      ["after its first bytes", (response: ServerResponse) => void response.writeHead(200, { "content-type": "application/json" }).write('{"stored":')],
      ["after its headers", (response: ServerResponse) => void response.writeHead(200, { "content-type": "application/json" }).flushHeaders()],
    ])("%s: the receipt is delivered, and the answer dropped with its connection long before the idle timeout", async (_name, acknowledge) => {
      let answered!: (response: ServerResponse) => void;
      const answer = new Promise<ServerResponse>((resolve) => (answered = resolve));
      const session = await sessionWithHost((_request, response) => {
        acknowledge(response);
        answered(response);
      });
      session.receipt = { cumulativeTokens: 1n, transcriptHash: session.transcriptHash, signature: "0x00", delivered: false };
      // The SDK gives the end of an ignored answer ignoredAnswerGraceMs; the idle timeout here is far beyond this test's.
      expect(await deliverReceipt(session, { ...transport, timeoutMs: 3_600_000 })).toBe(true);
      expect(session.receipt.delivered).toBe(true);
      const response = await answer;
      await new Promise((resolve) => (response.destroyed ? resolve(undefined) : response.once("close", resolve)));
    });
  });

  describe("HostUnreachableError says why", () => {
    it("ECONNREFUSED for a port nobody listens on", async () => {
      const session = await sessionWithHost(() => undefined);
      server!.close();
      server!.closeAllConnections();
      const error = await chat(session, { messages, ...transport }).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(HostUnreachableError);
      expect((error as HostUnreachableError).code).toBe("ECONNREFUSED");
      expect((error as HostUnreachableError).message).toContain("ECONNREFUSED");
    });

    it("a TLS error for a host that does not speak TLS", async () => {
      const session = await sessionWithHost((_request, response) => void response.end("plain"));
      const error = await chat({ ...session, hostUrl: session.hostUrl.replace("http:", "https:") }, { messages, ...transport }).catch(
        (caught: unknown) => caught,
      );
      expect(error).toBeInstanceOf(HostUnreachableError);
      expect((error as HostUnreachableError).code).toMatch(/SSL|TLS|EPROTO/);
    });
  });
});

describe("over node:http, compressed bytes that decode to nothing, without end", () => {
  it("are read no further than 64 MiB either: HostAnswerTooLargeError, session disputed (fetch hides these bytes: its idle timeout ends them)", async () => {
    const session = await sessionWithHost((_request, response) => {
      // A zlib header, then empty stored blocks: five bytes each, none of which decodes to anything.
      response.writeHead(200, { "content-type": "application/json", "content-encoding": "deflate" }).write(Buffer.from([0x78, 0x9c]));
      return writeEndlessly(response, Buffer.from([0x00, 0x00, 0x00, 0xff, 0xff]));
    });
    await expect(chat(session, { messages })).rejects.toBeInstanceOf(HostAnswerTooLargeError);
    expect(written).toBeLessThanOrEqual(maxAnswerBytes + socketSlack);
    expect(session.dispute).toBeDefined();
  });
});
