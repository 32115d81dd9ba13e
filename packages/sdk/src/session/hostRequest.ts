import type { HostTransport } from "./hostFetch.ts";

/**
 * The transport the SDK reaches hosts with when the caller passes no `fetch`, where one cheaper
 * than `fetch` is at hand. In a browser or a bundle there is none: `fetch` it is
 * (`hostRequest.node.ts` is the Node build's, chosen by the `#hostRequest` import).
 */
export const requestHost: HostTransport | undefined = undefined;
