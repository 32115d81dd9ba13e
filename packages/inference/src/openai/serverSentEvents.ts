import { createServerSentEventParser, type ServerSentEventParser } from "@session-jobs/sse";
import { UpstreamBadResponseError } from "../errors.ts";

/** The `@session-jobs/sse` parser of an upstream's `text/event-stream`: a line or event over `maxLineLength` is an {@link UpstreamBadResponseError}. */
export function createUpstreamEventParser(options: { maxLineLength?: number } = {}): ServerSentEventParser {
  return createServerSentEventParser({
    maxLineLength: options.maxLineLength,
    onTooLong: (limit) => new UpstreamBadResponseError(`The inference server sent an event stream line or event longer than ${limit} characters.`),
  });
}

/** Yields the data of the events each chunk of a `text/event-stream` body completes, one array per chunk that completes any (parsed by {@link createUpstreamEventParser}). */
export async function* serverSentEventBatches(body: AsyncIterable<Uint8Array>, options: { maxLineLength?: number } = {}): AsyncGenerator<string[]> {
  const parser = createUpstreamEventParser(options);
  for await (const chunk of body) {
    const events = parser.push(chunk);
    if (events.length > 0) yield events.map((event) => event.data);
  }
  const events = parser.end();
  if (events.length > 0) yield events.map((event) => event.data);
}
