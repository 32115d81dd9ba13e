import { describe, expect, it } from "vitest";
import type { SseWriter } from "../http/httpIo.ts";
import { createAnswerSink } from "./answerSink.ts";

/**
 * An event stream whose `send` answers as scripted and whose `drained()` the test settles: the
 * order in which the socket drains and the client leaves is the test's, not the event loop's.
 */
function scriptedStream(answers: ReturnType<SseWriter["send"]>[]) {
  const written: string[] = [];
  let settleDrain: ((clientThere: boolean) => void) | undefined;
  const writer = {
    send(data: string) {
      const answer = answers.shift() ?? "sent";
      if (answer !== "gone") written.push(data);
      return answer;
    },
    drained: () => new Promise<boolean>((resolve) => (settleDrain = resolve)),
  } as Partial<SseWriter> as SseWriter;
  return { writer, written, drain: (clientThere: boolean) => settleDrain!(clientThere) };
}

function sinkOver(answers: ReturnType<SseWriter["send"]>[]) {
  const stream = scriptedStream(answers);
  const clientGone = new AbortController();
  const sink = createAnswerSink({ sse: () => stream.writer, encode: (part) => part, maxDeltas: 100, stopOn: [clientGone.signal] });
  return { ...stream, sink, clientLeaves: () => clientGone.abort() };
}

describe("what a streamed answer bills: each delta handed to the client's socket", () => {
  it("a delta written while the socket's buffer is full counts, though the client reads it and leaves before the host sees the drain", async () => {
    const { sink, written, drain, clientLeaves } = sinkOver(["sent", "full"]);
    expect(sink.delta("The answer ")).toBe(true);
    // Written (queued behind the full buffer): the backend waits for the drain.
    expect(sink.delta("is 42")).toBe(false);
    const ready = sink.ready();
    // The client reads everything, "is 42" included, and hangs up before the drain is processed.
    clientLeaves();
    drain(false);
    await ready;
    expect(written).toEqual(["The answer ", "is 42"]);
    // Before, the record lacked "is 42": the SDK, which showed it live, disputed an honest host.
    expect(sink.text).toBe("The answer is 42");
    expect(sink.deltas).toBe(2);
    // The client is gone: nothing after is written or billed.
    expect(sink.delta("!")).toBe(true);
    expect(sink.text).toBe("The answer is 42");
  });

  it("bills no more than it wrote: a delta refused because the client left is not counted, and one written to a full buffer counts once, drained or not", async () => {
    const { sink, drain } = sinkOver(["full", "gone"]);
    expect(sink.delta("a")).toBe(false);
    const ready = sink.ready();
    drain(true);
    await expect(ready).resolves.toBe(true);
    expect(sink.delta("b")).toBe(true);
    expect(sink.text).toBe("a");
    expect(sink.deltas).toBe(1);
  });

  it("stops a backend past max_tokens deltas without writing or billing the extra one", () => {
    const stream = scriptedStream([]);
    const sink = createAnswerSink({ sse: () => stream.writer, encode: (part) => part, maxDeltas: 2, stopOn: [] });
    expect([sink.delta("a"), sink.delta("b"), sink.delta("c")]).toEqual([true, true, false]);
    expect(sink.overflowed).toBe(true);
    expect(stream.written).toEqual(["a", "b"]);
    expect(sink.text).toBe("ab");
  });
});
