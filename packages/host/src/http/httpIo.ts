import type { IncomingMessage, ServerResponse } from "node:http";
import { HostError } from "../errors.ts";

/** Reads a request body up to `limit` bytes; larger bodies are refused with 413 without reading them all. */
export function readBody(request: IncomingMessage, limit: number): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const declared = Number(request.headers["content-length"]);
    if (Number.isFinite(declared) && declared > limit) {
      request.resume();
      return reject(new HostError("invalid_request", `body larger than ${limit} bytes`, { status: 413 }));
    }
    const chunks: Buffer[] = [];
    let size = 0;
    request.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        request.removeAllListeners("data");
        request.resume();
        reject(new HostError("invalid_request", `body larger than ${limit} bytes`, { status: 413 }));
        return;
      }
      chunks.push(chunk);
    });
    request.on("end", () => resolve(new Uint8Array(Buffer.concat(chunks))));
    request.on("error", (error) => reject(new HostError("invalid_request", "request body could not be read", { cause: error })));
  });
}

/** Parses a JSON body, insisting on a JSON content type and an object at the top. */
export function parseJsonBody(request: IncomingMessage, body: Uint8Array): Record<string, unknown> {
  const contentType = request.headers["content-type"] ?? "";
  if (!/^application\/(.+\+)?json\b/i.test(contentType)) throw new HostError("invalid_request", "Content-Type must be application/json", { status: 415 });
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(body).toString("utf8"));
  } catch {
    throw new HostError("invalid_request", "body is not valid JSON");
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new HostError("invalid_request", "body must be a JSON object");
  return parsed as Record<string, unknown>;
}

export function sendJson(response: ServerResponse, status: number, payload: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(payload);
  response.writeHead(status, { "content-type": "application/json; charset=utf-8", "content-length": Buffer.byteLength(text), ...headers });
  response.end(text);
}

export function sendText(response: ServerResponse, status: number, text: string, contentType: string): void {
  response.writeHead(status, { "content-type": contentType, "content-length": Buffer.byteLength(text) });
  response.end(text);
}

/**
 * Answers 200 with the JSON object `head` plus a last field `field`: an array written one element
 * at a time. Each element is encoded only when the previous one is on its way, the writer yields
 * to other work after each and waits for the client to drain, so a long answer neither stalls the
 * event loop nor sits in memory twice. A client that takes none of the next 64 KiB slice's bytes
 * for `stallTimeoutMs` is cut off (the connection destroyed), so a reader that stopped reading
 * cannot hold what the answer holds, while a slow one that goes on reading is never cut. Resolves `false` when the client went away or was cut off.
 */
export async function sendJsonWithArray<T>(
  response: ServerResponse,
  head: Record<string, unknown>,
  field: string,
  items: readonly T[],
  encode: (item: T) => unknown,
  stallTimeoutMs: number,
): Promise<boolean> {
  response.writeHead(200, { "content-type": "application/json; charset=utf-8" });
  const opening = JSON.stringify({ ...head, [field]: [] });
  let chunk = opening.slice(0, -2);
  for (const [index, item] of items.entries()) {
    chunk += (index === 0 ? "" : ",") + JSON.stringify(encode(item));
    if (!(await writeOrWait(response, chunk, stallTimeoutMs))) return false;
    chunk = "";
  }
  response.end(`${chunk}]}`);
  return true;
}

/** Resolves once the response's buffered data has drained or the connection closed: `true`, or `false` when `timeoutMs` passed first. */
function drainedOrClosed(response: ServerResponse, timeoutMs?: number): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const done = (drained: boolean) => {
      response.off("drain", onDrain);
      response.off("close", onDrain);
      clearTimeout(timer);
      resolve(drained);
    };
    const onDrain = () => done(true);
    const timer = timeoutMs === undefined ? undefined : setTimeout(() => done(false), timeoutMs);
    response.on("drain", onDrain);
    response.on("close", onDrain);
  });
}

/** The most one write hands the socket before it must drain: the stall bound is judged per slice. */
const writeSliceBytes = 64 * 1024;

/**
 * Writes `chunk` in slices of at most {@link writeSliceBytes}, waiting for the socket to drain
 * after each it must (at most `stallTimeoutMs` per slice, else the connection is destroyed), then
 * for a turn of the event loop; `false` once the client is gone. The bound is on progress: a reader
 * that takes 64 KiB per bound is never cut, however large the chunk.
 */
async function writeOrWait(response: ServerResponse, chunk: string, stallTimeoutMs: number): Promise<boolean> {
  const bytes = Buffer.from(chunk);
  for (let start = 0; start < bytes.length; start += writeSliceBytes) {
    if (response.destroyed) return false;
    if (!response.write(bytes.subarray(start, start + writeSliceBytes)) && !(await drainedOrClosed(response, stallTimeoutMs))) {
      response.destroy();
      return false;
    }
  }
  await new Promise<void>((resolve) => setImmediate(resolve));
  return !response.destroyed;
}

/** Answers with the error JSON of docs/design.md; anything but a {@link HostError} becomes a 500 without detail. */
export function sendError(response: ServerResponse, error: unknown): void {
  const hostError = error instanceof HostError ? error : new HostError("internal_error", "internal error");
  if (response.headersSent) {
    response.destroy();
    return;
  }
  sendJson(response, hostError.status, hostError.toJSON(), hostError.headers());
}

/**
 * A server-sent-events writer (after Hono's `streamSSE`): it notices the client leaving,
 * respects back-pressure, and turns writes after an abort into no-ops that report `false`.
 */
export type SseWriter = {
  /** Fires when the client disconnects before `close()`. */
  readonly signal: AbortSignal;
  readonly aborted: boolean;
  /** Writes one `data:` event; resolves `false` when the client is gone. */
  write(data: string): Promise<boolean>;
  /**
   * Writes one `data:` event now, without a promise (the relay's per-token path): `sent`, `full`
   * (written, but the socket's buffer is over its high-water mark: wait for {@link drained} before
   * writing more) or `gone` (the client left; nothing written).
   */
  send(data: string): "sent" | "full" | "gone";
  /** Resolves once a `full` response has drained: `true`, or `false` if the client left meanwhile. */
  drained(): Promise<boolean>;
  close(): void;
};

/** Aborts when the client disconnects before the response has been written completely. */
export function watchClient(response: ServerResponse): AbortSignal {
  const controller = new AbortController();
  response.on("close", () => {
    if (!response.writableFinished) controller.abort();
  });
  return controller.signal;
}

/**
 * Starts an event stream; `clientGone` is the request's {@link watchClient} signal. The head is
 * not flushed on its own: it leaves with the first event (or `close()`), in the same socket write,
 * so the caller opens the stream when it has an event to send.
 */
export function startSse(response: ServerResponse, clientGone: AbortSignal): SseWriter {
  response.writeHead(200, {
    "content-type": "text/event-stream; charset=utf-8",
    "cache-control": "no-cache",
    connection: "keep-alive",
    "x-accel-buffering": "no",
  });
  return {
    signal: clientGone,
    get aborted() {
      return clientGone.aborted;
    },
    async write(data) {
      const sent = this.send(data);
      return sent === "full" ? this.drained() : sent === "sent";
    },
    send(data) {
      if (clientGone.aborted || response.destroyed) return "gone";
      return response.write(`data: ${data}\n\n`) ? "sent" : "full";
    },
    async drained() {
      if (response.writableNeedDrain) await drainedOrClosed(response);
      return !clientGone.aborted;
    },
    close() {
      if (!response.writableEnded) response.end();
    },
  };
}
