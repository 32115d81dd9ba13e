/**
 * Incremental parser of a `text/event-stream` body (WHATWG HTML §9.2): lines end in LF, CR or
 * CRLF (possibly split across chunks), events end at a blank line, `data:` lines are joined with
 * LF, comments (`:` keep-alives) and other fields are ignored. Yields each event's data.
 */
export async function* serverSentEventData(body: AsyncIterable<Uint8Array>): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let buffer = "";
  let data: string[] = [];
  let sawCarriageReturn = false;
  const takeLine = function* (line: string): Generator<string> {
    if (line === "") {
      if (data.length > 0) yield data.join("\n");
      data = [];
      return;
    }
    if (line.startsWith(":")) return;
    const colon = line.indexOf(":");
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "data") data.push(value);
  };
  for await (const chunk of body) {
    buffer += decoder.decode(chunk, { stream: true });
    let start = 0;
    for (let i = 0; i < buffer.length; i++) {
      const c = buffer[i];
      if (c === "\n" && sawCarriageReturn && i === start) {
        // the LF of a CRLF whose CR ended the previous line
        start = i + 1;
        sawCarriageReturn = false;
        continue;
      }
      sawCarriageReturn = false;
      if (c === "\n" || c === "\r") {
        yield* takeLine(buffer.slice(start, i));
        if (c === "\r") sawCarriageReturn = true;
        start = i + 1;
      }
    }
    buffer = buffer.slice(start);
  }
  buffer += decoder.decode();
  if (buffer !== "") yield* takeLine(buffer);
  if (data.length > 0) yield data.join("\n");
}
