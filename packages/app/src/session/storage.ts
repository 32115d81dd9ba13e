import { deserializeSession, serializeSession, type Session } from "@session-jobs/sdk";
import { createStore, del, get, set, values } from "idb-keyval";

/** One line of the conversation as the page shows it. */
export type ChatLine = { role: "user" | "assistant"; content: string; stopped?: boolean; failed?: string };

/** What the browser keeps per session, in IndexedDB: the SDK's session (with its key) and the chat. */
export type StoredSession = { id: string; session: Session; lines: ChatLine[]; closed: boolean; updatedAt: number };

type Row = { id: string; session: string; lines: ChatLine[]; closed: boolean; updatedAt: number };

const store = createStore("session-jobs", "sessions");
const currentKey = "current";
const pointers = createStore("session-jobs-current", "pointers");

export const sessionId = (session: Pick<Session, "chainId" | "marketplace" | "jobId">) =>
  `${session.chainId}:${session.marketplace.toLowerCase()}:${session.jobId}`;

/**
 * Saves the session after every change the SDK made to it (sequence, receipt, transcript), so a
 * reload resumes where it stopped. The record holds the session key: IndexedDB of this origin only.
 */
export async function saveSession(record: Omit<StoredSession, "id" | "updatedAt">): Promise<void> {
  const id = sessionId(record.session);
  await set(id, { id, session: serializeSession(record.session), lines: record.lines, closed: record.closed, updatedAt: Date.now() } satisfies Row, store);
}

function fromRow(row: Row): StoredSession {
  return { ...row, session: deserializeSession(row.session) };
}

export async function loadSession(id: string): Promise<StoredSession | undefined> {
  const row = await get<Row>(id, store);
  return row && fromRow(row);
}

export async function listStoredSessions(): Promise<StoredSession[]> {
  return (await values<Row>(store)).map(fromRow).sort((a, b) => b.updatedAt - a.updatedAt);
}

/** The session the chat page shows (kept across reloads). */
export const getCurrentSessionId = () => get<string>(currentKey, pointers);
export const setCurrentSessionId = (id: string | undefined) => (id === undefined ? del(currentKey, pointers) : set(currentKey, id, pointers));
