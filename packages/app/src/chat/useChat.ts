import { streamChat, syncSession, type ChatMessage, type RecoveredExchange } from "@session-jobs/sdk";
import { useCallback, useRef, useState } from "react";
import { usePublicClient } from "wagmi";
import { useDeployment } from "../DeploymentContext.ts";
import { describeError } from "../errors.ts";
import { useRefetchServed } from "../meter/useSessionProgress.ts";
import { followMovedHost, HostNotFollowedError, mayHaveMoved, type HostMove } from "../session/movedHost.ts";
import { frameThrottle, type FrameThrottled } from "./frameThrottle.ts";
import type { ChatLine, StoredSession } from "../session/storage.ts";

/** Choices for the longest answer, in completion tokens; the first is the default. */
export const answerLengths = [200, 500, 1000, 2000] as const;

/** The conversation so far as chat messages: every line with text, stopped answers as far as they got. */
export function historyOf(lines: ChatLine[]): ChatMessage[] {
  return lines.filter((line) => line.content !== "" && !line.failed).map((line) => ({ role: line.role, content: line.content }));
}

/** Whether a recovered exchange asked `prompt` (its request's last message). */
function asks(exchange: RecoveredExchange, prompt: string): boolean {
  const messages = exchange.request["messages"];
  const last: unknown = Array.isArray(messages) ? messages.at(-1) : undefined;
  return (last as { content?: unknown } | undefined)?.content === prompt;
}

/**
 * The answer a sync recovered to the request whose answer was lost: the last exchange signed for now
 * that asked `prompt`. One signed before (a restored session's earlier turn that asked the same) is
 * not it, so the prompt is asked again.
 */
export function answerRecoveredFor(recovered: readonly RecoveredExchange[], prompt: string): RecoveredExchange | undefined {
  return recovered.filter((exchange) => !exchange.signedBefore && asks(exchange, prompt)).at(-1);
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
 * the SDK then syncs and signs a receipt for exactly that. A request whose host does not answer at
 * all at the saved URL follows the URL the host registered on chain since (`followMovedHost`),
 * tells `onMoved`, and is sent there once more.
 */
export function useChat(record: StoredSession, persist: () => Promise<void>, refresh: () => void, onMoved: (move: HostMove) => void) {
  const [busy, setBusy] = useState(false);
  const controller = useRef<AbortController | undefined>(undefined);
  const refetchServed = useRefetchServed(record.session);
  const client = usePublicClient();
  const { nodeRegistry } = useDeployment();

  const send = useCallback(
    async (prompt: string, maxTokens: number) => {
      const history = historyOf(record.lines);
      const answer: ChatLine = { role: "assistant", content: "" };
      record.lines.push({ role: "user", content: prompt }, answer);
      const abort = new AbortController();
      controller.current = abort;
      setBusy(true);
      await persist();
      const request = { messages: [...history, { role: "user" as const, content: prompt }], signal: abort.signal, maxTokens };
      /** Whether the answer was accepted (its iteration ended: counts checked, receipt signed). */
      let accepted = false;
      const streamAnswer = async () => {
        const stream = streamChat(record.session, request);
        await streamInto(answer, stream, frameThrottle(refresh));
        accepted = true;
        await stream.result;
      };
      try {
        try {
          await streamAnswer();
        } catch (error) {
          // Nothing came back from the saved URL: the host may have moved and registered another on chain.
          if (abort.signal.aborted || answer.content !== "" || !client || !mayHaveMoved(error)) throw error;
          // A registration that cannot be read says nothing of a move: the host's own failure stands.
          const move = await followMovedHost(client, nodeRegistry, record.session).catch((readError: unknown) => {
            throw readError instanceof HostNotFollowedError ? readError : error;
          });
          onMoved(move);
          await persist();
          // The request may have reached the host before its answer was lost: a sync recovers (and signs for) what it
          // served, which is then shown rather than asked again.
          const { recovered } = await syncSession(record.session, { signal: abort.signal });
          const served = answerRecoveredFor(recovered, prompt);
          if (!served) await streamAnswer();
          else {
            answer.content = served.text;
            if (served.aborted) answer.stopped = true;
            accepted = true;
          }
        }
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
    [record, persist, refresh, refetchServed, client, nodeRegistry, onMoved],
  );

  const stop = useCallback(() => controller.current?.abort(), []);
  return { busy, send, stop };
}
