import type { HostRequestOptions } from "../session/hostFetch.ts";

/**
 * TEST HELPER: the two ways the SDK reaches a host, for tests that must hold on both: Node's
 * default (node:http, no `fetch` option) and a caller's `fetch` (undici's here; a browser's there).
 * The `fetch` is looked up at call time, so a spy on `globalThis.fetch` sees it.
 */
export const hostTransports: [name: string, options: Pick<HostRequestOptions, "fetch">][] = [
  ["node:http", {}],
  ["fetch", { fetch: (input, init) => globalThis.fetch(input, init) }],
];
