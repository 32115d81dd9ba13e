import type { Session } from "./types.ts";

const bigintFields = ["jobId", "openedAtBlock", "deposit", "pricePerToken", "proofInterval", "sequence", "cumulativeTokens"] as const;

/**
 * Writes a session as JSON (bigints as decimal strings) so an app can store it and resume.
 * The JSON holds the session key.
 *
 * @example
 * localStorage.setItem("session", serializeSession(session));
 */
export function serializeSession(session: Session): string {
  const { restored: _restored, ...state } = session;
  return JSON.stringify(state, (_key, value: unknown) => (typeof value === "bigint" ? value.toString() : value));
}

/**
 * Reads a session written by {@link serializeSession}. The state may be older than what the host
 * has (the process died during an answer, or after a receipt it signed later), so the restored
 * session is marked `restored` and syncs with the host before its first request (`syncSession`).
 *
 * @example
 * const session = deserializeSession(localStorage.getItem("session")!);
 * await chat(session, { messages: [{ role: "user", content: "Go on." }] });
 */
export function deserializeSession(json: string): Session {
  const raw = JSON.parse(json) as Record<string, unknown>;
  for (const field of bigintFields) raw[field] = BigInt(raw[field] as string);
  const receipt = raw.receipt as Record<string, unknown> | undefined;
  if (receipt) receipt.cumulativeTokens = BigInt(receipt.cumulativeTokens as string);
  for (const live of (raw.liveAnswers as Record<string, unknown>[] | undefined) ?? []) live.sequence = BigInt(live.sequence as string);
  if (Array.isArray(raw.failedAnswers)) raw.failedAnswers = (raw.failedAnswers as string[]).map((sequence) => BigInt(sequence));
  raw.restored = true;
  return raw as unknown as Session;
}
