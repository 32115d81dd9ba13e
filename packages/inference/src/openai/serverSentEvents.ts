import { createServerSentEventParser } from "@session-jobs/sse";
import { UpstreamBadResponseError } from "../errors.ts";

/** Yields the data of the events each chunk of a `text/event-stream` body completes, one array per chunk that completes any; parsed by `@session-jobs/sse`, a line or event over `maxLineLength` is an {@link UpstreamBadResponseError}. */
export async function* serverSentEventBatches(body: AsyncIterable<Uint8Array>, options: { maxLineLength?: number } = {}): AsyncGenerator<string[]> {
  const parser = createServerSentEventParser({
    maxLineLength: options.maxLineLength,
    onTooLong: (limit) => new UpstreamBadResponseError(`The inference server sent an event stream line or event longer than ${limit} characters.`),
  });
  for await (const chunk of body) {
    const events = parser.push(chunk);
    if (events.length > 0) yield events.map((event) => event.data);
  }
  const events = parser.end();
  if (events.length > 0) yield events.map((event) => event.data);
}
