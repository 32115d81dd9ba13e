import { readText, type HostBody } from "@session-jobs/sdk";

/** The most the page reads of a host's small JSON view (`/ready`, `/v1/session/:jobId`): an honest one is under 1 KiB. */
export const maxViewBytes = 64 * 1024;

/**
 * A host's answer as JSON, read up to `limit` bytes with the SDK's bounded reader: a larger one
 * throws `HostAnswerTooLargeError` (the rest is not read), a body that is not JSON a SyntaxError.
 */
export async function readHostJson(response: Response, limit = maxViewBytes): Promise<unknown> {
  const body = hostBody(response);
  if (body === undefined) return null;
  return JSON.parse(await readText(body, limit)) as unknown;
}

/**
 * Reads to its end a host's answer whose content the page does not need (up to `limit` bytes, as
 * {@link readHostJson}), so that the request is over at the host once this resolves.
 */
export async function readHostAnswerToEnd(response: Response, limit = maxViewBytes): Promise<void> {
  const body = hostBody(response);
  if (body !== undefined) await readText(body, limit);
}

function hostBody(response: Response): HostBody | undefined {
  const reader = response.body?.getReader();
  if (reader === undefined) return undefined;
  return { read: () => reader.read(), cancel: (reason?: unknown) => reader.cancel(reason), progress: () => undefined, arrived: () => false };
}
