import { HostAnswerTooLargeError, SessionProtocolError } from "../errors/session.ts";

/** The most the SDK reads of one host answer (a chat completion, a stream, a sync): far above an honest one. */
export const maxAnswerBytes = 64 * 1024 * 1024;

/**
 * Reads a body until it ends or `limit` bytes arrived (then stops reading and cancels the rest).
 * Errors of the body (a broken connection, a timeout: see `fetchHost`) are thrown as they are.
 */
async function readUpTo(response: Response, limit: number): Promise<{ bytes: Uint8Array; complete: boolean }> {
  if (!response.body) return { bytes: new Uint8Array(0), complete: true };
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  let complete = true;
  try {
    for (let next = await reader.read(); !next.done; next = await reader.read()) {
      chunks.push(next.value.subarray(0, limit - size));
      size += Math.min(next.value.byteLength, limit - size);
      if (size === limit) {
        complete = false;
        break;
      }
    }
  } finally {
    if (!complete) await reader.cancel().catch(() => undefined);
    reader.releaseLock();
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
export async function readText(response: Response, limit = maxAnswerBytes): Promise<string> {
  const { bytes, complete } = await readUpTo(response, limit + 1);
  if (!complete || bytes.byteLength > limit) throw new HostAnswerTooLargeError({ limit });
  return new TextDecoder().decode(bytes);
}

/** The first `limit` bytes of a body as text (an error answer, whose message is all the SDK needs). */
export async function readPrefix(response: Response, limit: number): Promise<string> {
  return new TextDecoder().decode((await readUpTo(response, limit).catch(() => ({ bytes: new Uint8Array(0) }))).bytes);
}

/** A response body as JSON ({@link readText}); a body that is not JSON is a protocol error. */
export async function readJson(response: Response): Promise<unknown> {
  const text = await readText(response);
  try {
    return JSON.parse(text) as unknown;
  } catch (cause) {
    throw new SessionProtocolError("The host's answer is not JSON.", { details: text.slice(0, 200), cause });
  }
}
