import { readText } from "@session-jobs/sdk";

/** The most the page reads of a host's small JSON view (`/ready`, `/v1/session/:jobId`): an honest one is under 1 KiB. */
export const maxViewBytes = 64 * 1024;

/**
 * A host's answer as JSON, read up to `limit` bytes with the SDK's bounded reader: a larger one
 * throws `HostAnswerTooLargeError` (the rest is not read), a body that is not JSON a SyntaxError.
 */
export async function readHostJson(response: Response, limit = maxViewBytes): Promise<unknown> {
  const reader = response.body?.getReader();
  if (reader === undefined) return null;
  const body = { read: () => reader.read(), cancel: (reason?: unknown) => reader.cancel(reason), progress: () => undefined, arrived: () => false };
  return JSON.parse(await readText(body, limit)) as unknown;
}
