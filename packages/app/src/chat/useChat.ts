import { streamChat, syncSession, type ChatMessage } from "@session-jobs/sdk";
import { useCallback, useRef, useState } from "react";
import { frameThrottle, type FrameThrottled } from "./frameThrottle.ts";
import { describeError } from "../errors.ts";
import { useRefetchServed } from "../meter/useSessionProgress.ts";
import type { ChatLine, StoredSession } from "../session/storage.ts";

/** Choices for the longest answer, in completion tokens; the first is the default. */
export const answerLengths = [200, 500, 1000, 2000] as const;

/** The conversation so far as chat messages: every line with text, stopped answers as far as they got. */
export function historyOf(lines: ChatLine[]): ChatMessage[] {
  return lines.filter((line) => line.content !== "" && !line.failed).map((line) => ({ role: line.role, content: line.content }));
}

/**
 * Appends each delta of an answer to its line, redrawing the page at most once per frame (a host
 * can send thousands of deltas a second; each redraw used to render the page again), and once
 * more when the deltas end, however they end.
 */
export async function streamInto(answer: ChatLine, deltas: AsyncIterable<string>, redraw: FrameThrottled): Promise<void> {
  try {
    for await (const delta of deltas) {
      answer.content += delta;
      redraw.schedule();
    }
  } finally {
    redraw.flush();
  }
}

/**
 * Sends prompts through the session and streams the answers into the stored lines. Stop aborts
 * the request: the host notices the client left, stops generating and bills only what it wrote;
 * the SDK then syncs and signs a receipt for exactly that.
 */
export function useChat(record: StoredSession, persist: () => Promise<void>, refresh: () => void) {
  const [busy, setBusy] = useState(false);
  const controller = useRef<AbortController | undefined>(undefined);
  const refetchServed = useRefetchServed(record.session);

  const send = useCallback(
    async (prompt: string, maxTokens: number) => {
      const history = historyOf(record.lines);
      const answer: ChatLine = { role: "assistant", content: "" };
      record.lines.push({ role: "user", content: prompt }, answer);
      const abort = new AbortController();
      controller.current = abort;
      setBusy(true);
      await persist();
      /** Whether the answer was accepted (its iteration ended: counts checked, receipt signed). */
      let accepted = false;
      try {
        const stream = streamChat(record.session, { messages: [...history, { role: "user", content: prompt }], signal: abort.signal, maxTokens });
        await streamInto(answer, stream, frameThrottle(refresh));
        accepted = true;
        await stream.result;
      } catch (error) {
        // A Stop once the answer was accepted stopped nothing: its receipt's delivery goes on (or the next request makes it).
        if (accepted && abort.signal.aborted) return;
        if (abort.signal.aborted) {
          answer.stopped = true;
          refresh();
          // Sign for what the host delivered before it stopped, so the meter and the host agree.
          await syncSession(record.session).catch(() => undefined);
        } else answer.failed = describeError(error);
      } finally {
        controller.current = undefined;
        // The meter's served count catches up with this answer's receipt before the page calls it done.
        await refetchServed().catch(() => undefined);
        setBusy(false);
        await persist();
      }
    },
    [record, persist, refresh, refetchServed],
  );

  const stop = useCallback(() => controller.current?.abort(), []);
  return { busy, send, stop };
}
