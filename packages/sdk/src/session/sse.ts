/** One server-sent event. */
export type ServerSentEvent = { event: string | undefined; data: string };

/**
 * Parses a `text/event-stream` body into events (WHATWG rules: `\n`, `\r\n` or `\r` line ends,
 * multi-line `data`, comments and unknown fields ignored, an event ends at a blank line).
 */
export async function* parseServerSentEvents(body: ReadableStream<Uint8Array>): AsyncGenerator<ServerSentEvent> {
  const decoder = new TextDecoder();
  const reader = body.getReader();
  let buffer = "";
  let data: string[] = [];
  let event: string | undefined;
  let finished = false;
  try {
    while (true) {
      const { done, value } = await reader.read();
      buffer += done ? decoder.decode() : decoder.decode(value, { stream: true });
      // A trailing "\r" may be the first half of "\r\n": keep it until more arrives.
      let lineEnd: RegExpExecArray | null;
      while ((lineEnd = /\r\n|\n|\r(?!$)/.exec(buffer)) !== null || (done && buffer.length > 0)) {
        const line = lineEnd ? buffer.slice(0, lineEnd.index) : buffer.replace(/\r$/, "");
        buffer = lineEnd ? buffer.slice(lineEnd.index + lineEnd[0].length) : "";
        if (line === "") {
          if (data.length > 0) yield { event, data: data.join("\n") };
          data = [];
          event = undefined;
          continue;
        }
        if (line.startsWith(":")) continue;
        const colon = line.indexOf(":");
        const field = colon === -1 ? line : line.slice(0, colon);
        const value = colon === -1 ? "" : line.slice(colon + 1).replace(/^ /, "");
        if (field === "data") data.push(value);
        else if (field === "event") event = value;
      }
      if (done) break;
    }
    finished = true;
    if (data.length > 0) yield { event, data: data.join("\n") };
  } finally {
    // Stopped early (consumer left, or an error): free the connection.
    if (!finished) await reader.cancel().catch(() => undefined);
    reader.releaseLock();
  }
}
