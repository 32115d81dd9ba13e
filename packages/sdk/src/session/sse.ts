import { createServerSentEventParser, type ServerSentEvent, type ServerSentEventParser } from "@session-jobs/sse";
import { HostAnswerTooLargeError } from "../errors/session.ts";
import { maxAnswerBytes } from "./readBody.ts";

export type { ServerSentEvent };

export type ParseServerSentEventsOptions = {
  /** Most bytes read from the body in all; more is a {@link HostAnswerTooLargeError}. Default 64 MiB. */
  maxBytes?: number | undefined;
};

/**
 * A `text/event-stream` parser ({@link createServerSentEventParser}: WHATWG rules, `\n`, `\r\n`
 * or `\r` line ends, multi-line `data`, comments and unknown fields ignored, an event ends at a
 * blank line) that refuses more than `maxBytes` in all with a {@link HostAnswerTooLargeError}.
 *
 * Bounded and linear whatever the host sends: a line without an end, or `data:` lines without a
 * blank line, cannot grow past the cap, and each byte is scanned once (a line split over many
 * chunks is not rescanned as it grows). Synchronous, so a caller reading a body turns each read
 * into its events without another async hop per event.
 */
export function createAnswerEventParser(options: ParseServerSentEventsOptions = {}): ServerSentEventParser {
  const maxBytes = options.maxBytes ?? maxAnswerBytes;
  const tooLarge = () => new HostAnswerTooLargeError({ limit: maxBytes });
  // A line holds no more characters than the bytes read, so the byte cap below bounds it first.
  const parser = createServerSentEventParser({ maxLineLength: maxBytes, onTooLong: tooLarge });
  let received = 0;
  return {
    push(chunk) {
      received += chunk.byteLength;
      if (received > maxBytes) throw tooLarge();
      return parser.push(chunk);
    },
    end: () => parser.end(),
  };
}

/** Parses a `text/event-stream` body into events with {@link createAnswerEventParser}; stopped early, it cancels the body. */
export async function* parseServerSentEvents(body: ReadableStream<Uint8Array>, options: ParseServerSentEventsOptions = {}): AsyncGenerator<ServerSentEvent> {
  const parser = createAnswerEventParser(options);
  const reader = body.getReader();
  let finished = false;
  try {
    while (true) {
      const { done, value } = await reader.read();
      if (done) break;
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
