import { HostAnswerTooLargeError } from "../errors/session.ts";
import { maxAnswerBytes } from "./readBody.ts";

/** One server-sent event. */
export type ServerSentEvent = { event: string | undefined; data: string };

export type ParseServerSentEventsOptions = {
  /** Most bytes read from the body in all; more is a {@link HostAnswerTooLargeError}. Default 64 MiB. */
  maxBytes?: number | undefined;
};

/**
 * Parses a `text/event-stream` body into events (WHATWG rules: `\n`, `\r\n` or `\r` line ends,
 * multi-line `data`, comments and unknown fields ignored, an event ends at a blank line).
 *
 * Bounded and linear whatever the host sends: it reads at most `maxBytes` in all (so a line
 * without an end, or `data:` lines without a blank line, cannot grow without limit), and each
 * byte is scanned once (a line split over many chunks is not rescanned as it grows).
 */
export async function* parseServerSentEvents(body: ReadableStream<Uint8Array>, options: ParseServerSentEventsOptions = {}): AsyncGenerator<ServerSentEvent> {
  const maxBytes = options.maxBytes ?? maxAnswerBytes;
  const decoder = new TextDecoder();
  const reader = body.getReader();
  const lineEnd = /\r\n|\r|\n/g;
  let received = 0;
  let line = "";
  // The previous chunk ended in "\r": a "\n" opening the next one ends no second line.
  let afterCarriageReturn = false;
  let data: string[] = [];
  let event: string | undefined;
  let finished = false;

  const endLine = (): ServerSentEvent | undefined => {
    const complete = line;
    line = "";
    if (complete === "") {
      const dispatched = data.length > 0 ? { event, data: data.join("\n") } : undefined;
      data = [];
      event = undefined;
      return dispatched;
    }
    if (complete.startsWith(":")) return undefined;
    const colon = complete.indexOf(":");
    const field = colon === -1 ? complete : complete.slice(0, colon);
    const value = colon === -1 ? "" : complete.slice(colon + (complete[colon + 1] === " " ? 2 : 1));
    if (field === "data") data.push(value);
    else if (field === "event") event = value;
    return undefined;
  };

  try {
    while (true) {
      const { done, value } = await reader.read();
      if (value) {
        received += value.byteLength;
        if (received > maxBytes) throw new HostAnswerTooLargeError({ limit: maxBytes });
      }
      let text = done ? decoder.decode() : decoder.decode(value, { stream: true });
      if (afterCarriageReturn && text.length > 0) {
        if (text.startsWith("\n")) text = text.slice(1);
        afterCarriageReturn = false;
      }
      const events: ServerSentEvent[] = [];
      let start = 0;
      lineEnd.lastIndex = 0;
      for (let match = lineEnd.exec(text); match; match = lineEnd.exec(text)) {
        line += text.slice(start, match.index);
        start = match.index + match[0].length;
        if (match[0] === "\r" && start === text.length) afterCarriageReturn = true;
        const dispatched = endLine();
        if (dispatched) events.push(dispatched);
      }
      line += text.slice(start);
      yield* events;
      if (done) break;
    }
    finished = true;
    if (line !== "") endLine();
    if (data.length > 0) yield { event, data: data.join("\n") };
  } finally {
    // Stopped early (consumer left, or an error): free the connection.
    if (!finished) await reader.cancel().catch(() => undefined);
    reader.releaseLock();
  }
}
