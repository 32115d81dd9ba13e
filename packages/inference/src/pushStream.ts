import type { CallOptions, ChatBackend, ChatRequest, StreamPart } from "./types.ts";

/** How a streamed turn ends: its `finish` or its `error` part. */
export type StreamEnd = Extract<StreamPart, { type: "finish" | "error" }>;

/**
 * Where a pushed turn's text goes ({@link pushStream}): each delta is handed over synchronously as
 * the backend reads it, with no promise per token. `delta` returns `false` when the consumer is full
 * (its socket's buffer, say): the backend then reads nothing more, not even the rest of what it has
 * already received, until `ready()` resolves `true`; `false` stops the turn without an end part.
 */
export type DeltaSink = {
  delta(text: string): boolean;
  ready(): Promise<boolean>;
};

/**
 * Runs one turn of `backend` into `sink`, natively where the backend can push
 * (`ChatBackend.pushStream`, the OpenAI-compatible relay) and otherwise by reading its `stream()`.
 * Resolves with the turn's end part, or `undefined` when the sink stopped it or the stream ended
 * without one; never rejects.
 */
export async function pushStream(backend: ChatBackend, request: ChatRequest, sink: DeltaSink, options: CallOptions = {}): Promise<StreamEnd | undefined> {
  if (backend.pushStream) return backend.pushStream(request, sink, options);
  for await (const part of backend.stream(request, options)) {
    if (part.type !== "text-delta") return part;
    if (!sink.delta(part.text) && !(await sink.ready())) return undefined;
  }
  return undefined;
}

/**
 * A pull `stream()` over a push source: every delta waits for the reader to ask for the next part
 * before the source reads on, as a generator would. A reader that leaves early fires `stop`, which
 * the source takes as "end quietly" (no end part, nothing counted).
 */
export async function* pullStream(push: (sink: DeltaSink, stop: AbortSignal) => Promise<StreamEnd | undefined>): AsyncGenerator<StreamPart> {
  const deltas: string[] = [];
  const stop = new AbortController();
  let wake: (() => void) | undefined;
  let resume: ((goOn: boolean) => void) | undefined;
  let ended = false;
  let end: StreamEnd | undefined;
  const sink: DeltaSink = {
    delta(text) {
      deltas.push(text);
      wake?.();
      return false;
    },
    ready: () => (stop.signal.aborted ? Promise.resolve(false) : new Promise((resolve) => (resume = resolve))),
  };
  void push(sink, stop.signal).then((part) => {
    [ended, end] = [true, part];
    wake?.();
  });
  try {
    for (;;) {
      const text = deltas.shift();
      if (text !== undefined) {
        yield { type: "text-delta", text };
        const goOn = resume;
        resume = undefined;
        goOn?.(true);
      } else if (ended) {
        if (end) yield end;
        return;
      } else {
        await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
      }
    }
  } finally {
    if (!ended) {
      stop.abort();
      resume?.(false);
    }
  }
}
