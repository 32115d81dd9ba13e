import { createServerSentEventParser, type ServerSentEvent } from "@session-jobs/sse";
import { HostAnswerTooLargeError } from "../errors/session.ts";
import { maxAnswerBytes } from "./readBody.ts";

export type { ServerSentEvent };

export type ParseServerSentEventsOptions = {
  /** Most bytes read from the body in all; more is a {@link HostAnswerTooLargeError}. Default 64 MiB. */
  maxBytes?: number | undefined;
};

/**
 * Parses a `text/event-stream` body into events with `@session-jobs/sse` (WHATWG rules: `\n`,
 * `\r\n` or `\r` line ends, multi-line `data`, comments and unknown fields ignored, an event ends
 * at a blank line).
 *
 * Bounded and linear whatever the host sends: it reads at most `maxBytes` in all (so a line
 * without an end, or `data:` lines without a blank line, cannot grow without limit), and each
 * byte is scanned once (a line split over many chunks is not rescanned as it grows).
 */
export async function* parseServerSentEvents(body: ReadableStream<Uint8Array>, options: ParseServerSentEventsOptions = {}): AsyncGenerator<ServerSentEvent> {
  const maxBytes = options.maxBytes ?? maxAnswerBytes;
  const tooLarge = () => new HostAnswerTooLargeError({ limit: maxBytes });
  // A line holds no more characters than the bytes read, so the byte cap below bounds it first.
  const parser = createServerSentEventParser({ maxLineLength: maxBytes, onTooLong: tooLarge });
  const reader = body.getReader();
  let received = 0;
  let finished = false;
  try {
    while (true) {
      const { done, value } = await reader.read();
      if (done) break;
      received += value.byteLength;
      if (received > maxBytes) throw tooLarge();
      yield* parser.push(value);
    }
    finished = true;
    yield* parser.end();
  } finally {
    // Stopped early (consumer left, or an error): free the connection.
    if (!finished) await reader.cancel().catch(() => undefined);
    reader.releaseLock();
  }
}
