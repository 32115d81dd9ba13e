import { maxHostAnswerBytes } from "@session-jobs/protocol";

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

/** The largest `limits.maxUnsignedBytes` whose sync answers stay below what a client reads ({@link maxHostAnswerBytes}). */
export function largestMaxUnsignedBytes(maxBodyBytes: number): number {
  return Math.floor((3 * maxHostAnswerBytes) / 8) - maxBodyBytes;
}
