import { maxHostAnswerBytes } from "@session-jobs/protocol";

/**
 * What the requests and answers of one session's sync answer may take on the wire: 48 MiB of the
 * 64 MiB a client reads ({@link maxHostAnswerBytes}). The rest is for what the estimate below does
 * not count: each exchange's fields (~450–600 bytes), the last answer of each part and JSON escapes.
 * These cannot be bounded exactly from the config (an answer's escapes depend on its text), so a
 * client that still finds a sync answer too large does not take it for a host that lies (design.md,
 * the sync endpoint).
 */
export const syncPayloadBytes = (maxHostAnswerBytes / 4) * 3;

/**
 * What one session's sync answer can hold, from the limits that bound it. The host keeps an
 * exchange's request and answer until a receipt covers it and a newer receipt follows, so a sync
 * lists two receipts' worth: the exchanges the newest receipt alone covers and those after it.
 * Each part stayed below `maxUnsignedBytes` until its last request was admitted (the 402 rule),
 * which adds that request (at most `maxBodyBytes`) and its answer (bounded by `limits.maxTokens`
 * tokens only, so not counted here).
 */
export function syncAnswerBounds(limits: { maxUnsignedBytes: number }, maxBodyBytes: number) {
  return {
    /** Stored bytes of the two parts before their last requests: what `limits.maxSyncBytesInFlight` must hold at least. */
    storedBytes: 2 * limits.maxUnsignedBytes,
    /** Bytes on the wire with the last requests, which are base64 there (4/3 of their bytes; answer text is about its own). */
    encodedBytes: Math.ceil((8 * (limits.maxUnsignedBytes + maxBodyBytes)) / 3),
  };
}

/** The largest `limits.maxUnsignedBytes` whose sync answers' requests and answers stay within {@link syncPayloadBytes}. */
export function largestMaxUnsignedBytes(maxBodyBytes: number): number {
  return Math.floor((3 * syncPayloadBytes) / 8) - maxBodyBytes;
}

/** The smallest `limits.maxUnsignedBytes` the config accepts. */
export const smallestMaxUnsignedBytes = 1024;

/** The largest `server.maxBodyBytes` that leaves room for the smallest `limits.maxUnsignedBytes`. */
export function largestMaxBodyBytes(): number {
  return Math.floor((3 * syncPayloadBytes) / 8) - smallestMaxUnsignedBytes;
}
