import { UpstreamBadResponseError } from "../errors.ts";

/** The longest line an event stream may send, in UTF-16 code units, unless the caller says otherwise (1 MiB of ASCII). */
export const defaultMaxLineLength = 1024 * 1024;

/**
 * Incremental parser of a `text/event-stream` body (WHATWG HTML §9.2): lines end in LF, CR or
 * CRLF (possibly split across chunks), events end at a blank line, `data:` lines are joined with
 * LF, comments (`:` keep-alives) and other fields are ignored. `push` takes the next bytes (UTF-8
 * characters may be split across chunks) and returns the data of every event they complete;
 * `end` returns a last event the stream ended without a blank line.
 *
 * The body is untrusted: a line (or an event's data) longer than `maxLineLength` is refused with
 * {@link UpstreamBadResponseError} instead of being buffered without bound, and each byte is
 * scanned once however the stream is split.
 */
export function createServerSentEventParser(options: { maxLineLength?: number } = {}) {
  const maxLineLength = options.maxLineLength ?? defaultMaxLineLength;
  const decoder = new TextDecoder();
  let buffer = "";
  let data: string[] = [];
  let dataLength = 0;
  let skipLineFeed = false;

  const tooLong = () => new UpstreamBadResponseError(`The inference server sent an event stream line or event longer than ${maxLineLength} characters.`);

  const takeLine = (line: string, events: string[]) => {
    if (line === "") {
      if (data.length > 0) events.push(data.length === 1 ? data[0]! : data.join("\n"));
      data = [];
      dataLength = 0;
      return;
    }
    if (line.charCodeAt(0) === 58 /* ":" */) return;
    const colon = line.indexOf(":");
    const field = colon === -1 ? line : line.slice(0, colon);
    if (field !== "data") return;
    const value = colon === -1 ? "" : line.charCodeAt(colon + 1) === 32 /* " " */ ? line.slice(colon + 2) : line.slice(colon + 1);
    dataLength += value.length + 1;
    if (dataLength > maxLineLength) throw tooLong();
    data.push(value);
  };

  const scan = (text: string, events: string[]) => {
    let start = 0;
    if (skipLineFeed && text.charCodeAt(0) === 10) start = 1;
    skipLineFeed = false;
    for (;;) {
      // The next line end: LF, or CR (alone or before an LF).
      const lineFeed = text.indexOf("\n", start);
      const carriageReturn = text.indexOf("\r", start);
      const end = carriageReturn !== -1 && (lineFeed === -1 || carriageReturn < lineFeed) ? carriageReturn : lineFeed;
      if (end === -1) break;
      takeLine(text.slice(start, end), events);
      start = end + 1;
      if (end === carriageReturn) {
        if (start === text.length) skipLineFeed = true;
        else if (text.charCodeAt(start) === 10) start += 1;
      }
    }
    buffer = text.slice(start);
    if (buffer.length > maxLineLength) throw tooLong();
  };

  return {
    push(chunk: Uint8Array): string[] {
      const events: string[] = [];
      const text = decoder.decode(chunk, { stream: true });
      // Only the new text is searched for line ends: the buffered rest of a line holds none.
      if (buffer === "" || (text.indexOf("\n") === -1 && text.indexOf("\r") === -1)) {
        if (buffer === "") scan(text, events);
        else {
          buffer += text;
          if (buffer.length > maxLineLength) throw tooLong();
        }
      } else scan(buffer + text, events);
      return events;
    },
    end(): string[] {
      const events: string[] = [];
      const rest = buffer + decoder.decode();
      buffer = "";
      if (rest !== "") scan(`${rest}\n`, events);
      if (data.length > 0) events.push(data.join("\n"));
      data = [];
      return events;
    },
  };
}

/** Yields the data of the events each chunk of a `text/event-stream` body completes, one array per chunk that completes any; see {@link createServerSentEventParser}. */
export async function* serverSentEventBatches(body: AsyncIterable<Uint8Array>, options: { maxLineLength?: number } = {}): AsyncGenerator<string[]> {
  const parser = createServerSentEventParser(options);
  for await (const chunk of body) {
    const events = parser.push(chunk);
    if (events.length > 0) yield events;
  }
  const events = parser.end();
  if (events.length > 0) yield events;
}
