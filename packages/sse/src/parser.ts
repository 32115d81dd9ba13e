/** One server-sent event: its `event` field (`undefined` when it sent none) and its `data` lines joined with LF. */
export type ServerSentEvent = { event: string | undefined; data: string };

/** The longest line or event an event stream may send, in UTF-16 code units, unless the caller says otherwise (1 MiB of ASCII). */
export const defaultMaxLineLength = 1024 * 1024;

/** A line, or an event's data, longer than the parser's `maxLineLength`; thrown unless the caller chose its own error. */
export class ServerSentEventTooLongError extends Error {
  override name = "ServerSentEventTooLongError";
  readonly limit: number;
  constructor(limit: number) {
    super(`The event stream sent a line or event longer than ${limit} characters.`);
    this.limit = limit;
  }
}

export type ServerSentEventParserOptions = {
  /** Most UTF-16 code units in one line, or in one event's data lines together. Default {@link defaultMaxLineLength}. */
  maxLineLength?: number | undefined;
  /** The error thrown for a longer line or event. Default a {@link ServerSentEventTooLongError}. */
  onTooLong?: ((maxLineLength: number) => Error) | undefined;
};

export type ServerSentEventParser = {
  /** Takes the next bytes (a UTF-8 character may be split across chunks); returns every event they complete. */
  push(chunk: Uint8Array): ServerSentEvent[];
  /** The stream ended: returns a last event it ended without a blank line. */
  end(): ServerSentEvent[];
};

const lineFeed = 10;
const byteOrderMark = 0xfeff;
const colon = 58;
const space = 32;

/**
 * Incremental parser of a `text/event-stream` body (WHATWG HTML §9.2): lines end in LF, CR or
 * CRLF (possibly split across chunks), events end at a blank line, `data:` lines are joined with
 * LF, `event:` names the event, comments (`:` keep-alives) and other fields are ignored.
 *
 * The body is untrusted: a line (or an event's data) longer than `maxLineLength` is refused with
 * the caller's error instead of being buffered without bound, and each character is searched for
 * line ends once however the stream is split (the unfinished rest of a line is never rescanned,
 * and a chunk of many lines is searched once, not once per line).
 */
export function createServerSentEventParser(options: ServerSentEventParserOptions = {}): ServerSentEventParser {
  const maxLineLength = options.maxLineLength ?? defaultMaxLineLength;
  const tooLong = () => (options.onTooLong ?? ((limit: number) => new ServerSentEventTooLongError(limit)))(maxLineLength);
  // The stream's leading BOM is dropped below, once: a decoder that dropped one per decode call would drop them mid-stream too.
  const decoder = new TextDecoder("utf-8", { ignoreBOM: true });
  let started = false;
  // The line not yet ended, in the pieces it arrived in, and their length in all.
  let pending: string[] = [];
  let pendingLength = 0;
  let data: string[] = [];
  let dataLength = 0;
  let event: string | undefined;
  // The previous text ended in CR: an LF opening the next one ends no second line.
  let skipLineFeed = false;
  // The first bytes of a UTF-8 character the last chunk ended inside of, kept for the next one.
  // Decoding whole characters only (never `{ stream: true }`) keeps Node's decoder on its fast path.
  let carry: Uint8Array | undefined;

  const completeCharacters = (chunk: Uint8Array): Uint8Array => {
    let bytes = chunk;
    if (carry) {
      bytes = new Uint8Array(carry.length + chunk.length);
      bytes.set(carry);
      bytes.set(chunk, carry.length);
      carry = undefined;
    }
    const complete = completeLength(bytes);
    if (complete === bytes.length) return bytes;
    carry = bytes.slice(complete);
    return bytes.subarray(0, complete);
  };

  const dispatch = (events: ServerSentEvent[]) => {
    if (data.length > 0) events.push({ event, data: data.length === 1 ? data[0]! : data.join("\n") });
    data = [];
    dataLength = 0;
    event = undefined;
  };

  const takeLine = (line: string, events: ServerSentEvent[]) => {
    if (line === "") return dispatch(events);
    if (line.charCodeAt(0) === colon) return;
    const at = line.indexOf(":");
    const field = at === -1 ? line : line.slice(0, at);
    if (field !== "data" && field !== "event") return;
    const value = at === -1 ? "" : line.charCodeAt(at + 1) === space ? line.slice(at + 2) : line.slice(at + 1);
    if (field === "event") {
      event = value;
      return;
    }
    dataLength += value.length + 1;
    if (dataLength > maxLineLength) throw tooLong();
    data.push(value);
  };

  /**
   * Takes the lines `text` ends. The unfinished line before it is kept as pieces, joined only
   * once its end arrives: concatenating each chunk onto it would copy the whole line again on
   * every chunk (V8 flattens the joined string to search it), quadratic in a line without end.
   */
  const scan = (text: string, events: ServerSentEvent[]) => {
    let start = 0;
    if (skipLineFeed && text.length > 0) {
      if (text.charCodeAt(0) === lineFeed) start = 1;
      skipLineFeed = false;
    }
    // The next LF and CR at or after `start`, each searched for once (-1: none left).
    let nextLineFeed = text.indexOf("\n", start);
    let nextCarriageReturn = text.indexOf("\r", start);
    while (nextLineFeed !== -1 || nextCarriageReturn !== -1) {
      const end = nextCarriageReturn !== -1 && (nextLineFeed === -1 || nextCarriageReturn < nextLineFeed) ? nextCarriageReturn : nextLineFeed;
      const tail = text.slice(start, end);
      takeLine(pending.length === 0 ? tail : pending.join("") + tail, events);
      pending = [];
      pendingLength = 0;
      start = end + 1;
      if (end === nextCarriageReturn) {
        if (start === text.length) skipLineFeed = true;
        else if (text.charCodeAt(start) === lineFeed) start += 1;
      }
      if (nextLineFeed !== -1 && nextLineFeed < start) nextLineFeed = text.indexOf("\n", start);
      if (nextCarriageReturn !== -1 && nextCarriageReturn < start) nextCarriageReturn = text.indexOf("\r", start);
    }
    if (start === text.length) return;
    pending.push(start === 0 ? text : text.slice(start));
    pendingLength += text.length - start;
    if (pendingLength > maxLineLength) throw tooLong();
  };

  return {
    push(chunk) {
      const events: ServerSentEvent[] = [];
      let text = decoder.decode(completeCharacters(chunk));
      if (!started && text !== "") {
        started = true;
        if (text.charCodeAt(0) === byteOrderMark) text = text.slice(1);
      }
      scan(text, events);
      return events;
    },
    end() {
      const events: ServerSentEvent[] = [];
      const rest = carry ? decoder.decode(carry) : "";
      carry = undefined;
      // An unfinished last line ends with the stream (a CR before it already ended its own line).
      if (pendingLength > 0 || rest !== "") {
        skipLineFeed = false;
        scan(`${rest}\n`, events);
      }
      dispatch(events);
      return events;
    },
  };
}

/**
 * How many bytes of `bytes` hold whole UTF-8 characters: all but the first bytes of a character
 * cut off at the end. A cut lies before a byte that continues no character, where a UTF-8 decoder
 * starts afresh, so decoding the two parts apart gives what one streaming decode gives (invalid
 * bytes included).
 */
function completeLength(bytes: Uint8Array): number {
  for (let back = 1; back <= 3 && back <= bytes.length; back++) {
    const byte = bytes[bytes.length - back]!;
    // 10xxxxxx continues a character: its first byte lies further back.
    if ((byte & 0xc0) === 0x80) continue;
    const length = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : byte >= 0xc0 ? 2 : 1;
    return length > back ? bytes.length - back : bytes.length;
  }
  return bytes.length;
}
