import type { DeltaSink } from "@session-jobs/inference";
import type { SseWriter } from "../http/httpIo.ts";

/** Where a streamed answer's deltas go, and what of them the host bills should the client leave. */
export type AnswerSink = DeltaSink & {
  /** The answer text handed to the client's socket: what the host records and bills. */
  readonly text: string;
  /** Deltas handed to the socket: each carries at least one token, so the completion tokens billed for a stop are at most this. */
  readonly deltas: number;
  /** The backend sent more than `maxDeltas` deltas: the turn was stopped. */
  readonly overflowed: boolean;
};

export type CreateAnswerSinkParameters = {
  /** The event stream, opened on the first delta. */
  sse: () => SseWriter;
  /** One delta as the data of its `chat.completion.chunk` event. */
  encode: (part: string) => string;
  /** The request's `max_tokens`: a backend that sends more deltas is stopped. */
  maxDeltas: number;
  /** Once one of them aborts (the client left, the session ended), deltas are dropped until the stopped backend ends. */
  stopOn: AbortSignal[];
};

/**
 * Writes each delta as the backend reads it (no promise per token); a full socket pauses the
 * backend until it drains. A delta counts once it is handed to the socket, also the one that filled
 * its buffer: the client may read it (a full buffer is still sent) and leave before the host sees
 * the drain, and a record without it would lack text the client showed live, so the SDK would
 * dispute an honest host (it once counted that delta only on a drain with the client still there).
 * What the host bills for a stop is thus the deltas it wrote, of which the client may have missed
 * those still in the socket's buffers when it left; a full buffer pauses the backend, so that is
 * the buffered bytes, the last delta at most one past the high-water mark.
 */
export function createAnswerSink(parameters: CreateAnswerSinkParameters): AnswerSink {
  const { encode, maxDeltas } = parameters;
  let text = "";
  let deltas = 0;
  let overflowed = false;
  let writer: SseWriter | undefined;
  // Flags set once, not two signals read per token.
  let dropping = parameters.stopOn.some((signal) => signal.aborted);
  for (const signal of parameters.stopOn) signal.addEventListener("abort", () => (dropping = true), { once: true });
  return {
    get text() {
      return text;
    },
    get deltas() {
      return deltas;
    },
    get overflowed() {
      return overflowed;
    },
    delta(part) {
      if (dropping) return true;
      if (deltas >= maxDeltas) {
        overflowed = true;
        return false;
      }
      writer ??= parameters.sse();
      const sent = writer.send(encode(part));
      if (sent === "gone") return true;
      text += part;
      deltas += 1;
      return sent === "sent";
    },
    async ready() {
      if (overflowed) return false;
      // A client that left meanwhile sets `dropping`: the stopped backend's last deltas are not written.
      await writer!.drained();
      return true;
    },
  };
}
