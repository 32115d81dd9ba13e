import { HostAnswerTooLargeError, SessionProtocolError } from "../errors/session.ts";
import type { HostBody } from "./hostFetch.ts";
import { isJsonPrefix } from "./jsonPrefix.ts";
import { maxHostAnswerBytes } from "@session-jobs/protocol";

/** The most the SDK reads of one host answer (a chat completion, a stream, a sync): far above an honest one; hosts size their sync answers below it. */
export const maxAnswerBytes = maxHostAnswerBytes;

/**
 * Reads a body until it ends or `limit` bytes arrived (then stops reading and cancels the rest).
 * Errors of the body (a broken connection, a timeout: see `fetchHost`) are thrown as they are.
 */
async function readUpTo(body: HostBody, limit: number): Promise<{ bytes: Uint8Array; complete: boolean }> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  let complete = true;
  for (let next = await body.read(); !next.done; next = await body.read()) {
    chunks.push(next.value.subarray(0, limit - size));
    size += Math.min(next.value.byteLength, limit - size);
    if (size === limit) {
      complete = false;
      await body.cancel();
      break;
    }
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return { bytes, complete };
}

/**
 * A response body as text, read up to {@link maxAnswerBytes}: a larger one is a
 * {@link HostAnswerTooLargeError}, so a hostile host cannot exhaust the client's memory.
 */
export async function readText(body: HostBody, limit = maxAnswerBytes): Promise<string> {
  const { bytes, complete } = await readUpTo(body, limit + 1);
  if (!complete || bytes.byteLength > limit) throw new HostAnswerTooLargeError({ limit });
  return new TextDecoder().decode(bytes);
}

/** The first `limit` bytes of a body as text (an error answer, whose message is all the SDK needs). */
export async function readPrefix(body: HostBody, limit: number): Promise<string> {
  return new TextDecoder().decode((await readUpTo(body, limit).catch(() => ({ bytes: new Uint8Array(0) }))).bytes);
}

/**
 * A response body as JSON ({@link readText}); a body that is not JSON is a protocol error, or, where
 * the transport hid a compressed answer cut short (`fetch`) and what arrived could begin a JSON
 * text, the unreachable host node:http reports.
 */
export async function readJson(body: HostBody): Promise<unknown> {
  const text = await readText(body);
  try {
    return JSON.parse(text) as unknown;
  } catch (cause) {
    // Cut short only if what arrived could begin a JSON text: a whole answer that is not JSON (an error page) is the host's fault.
    throw (isJsonPrefix(text) && body.cutShort?.()) || new SessionProtocolError("The host's answer is not JSON.", { details: text.slice(0, 200), cause });
  }
}

/**
 * Reads to its end an answer whose content the SDK does not need (a receipt's `{ stored: true }`:
 * its status said all), so that its connection goes back to the pool. What has wholly arrived is
 * read before this returns, which takes no wait on the host: the connection is back in the pool
 * before the session's next request, which would otherwise open a second one. The rest is read
 * behind the caller's back for at most {@link ignoredAnswerGraceMs}, then the answer is dropped
 * with its connection and its idle timer (a host that never ends it held both for the idle
 * timeout, and kept a Node process that was done from exiting). At most
 * {@link ignoredAnswerBytes} are read: past them too the answer is dropped (a compressed answer
 * that has arrived can decode to gigabytes without any wait on the host). Never fails.
 */
export async function finishIgnored(body: HostBody): Promise<void> {
  let read = 0;
  // Whether the answer is over: read to its end, failed, or dropped.
  const readOn = async (onlyWhatArrived: boolean): Promise<boolean> => {
    try {
      while (!onlyWhatArrived || body.arrived()) {
        const { done, value } = await body.read();
        if (done) return true;
        read += value.byteLength;
        if (read > ignoredAnswerBytes) {
          await body.cancel();
          return true;
        }
      }
      return false;
    } catch {
      return true;
    }
  };
  if (await readOn(true)) return;
  const grace = setTimeout(() => void body.cancel(), ignoredAnswerGraceMs);
  void readOn(false).then(() => clearTimeout(grace));
}

/** How much of an answer the SDK ignores ({@link finishIgnored}) it reads to reuse the connection: far more than `{ stored: true }`. */
export const ignoredAnswerBytes = 64 * 1024;

/**
 * How long the end of an answer the SDK ignores may lag behind its status ({@link finishIgnored}):
 * it comes in the same write as a tiny answer's status, or in a proxy's next one a few ms later.
 */
export const ignoredAnswerGraceMs = 1_000;
