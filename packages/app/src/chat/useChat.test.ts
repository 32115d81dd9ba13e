import { describe, expect, it } from "vitest";
import type { ChatLine } from "../session/storage.ts";
import { frameThrottle } from "./frameThrottle.ts";
import type { RecoveredExchange } from "@session-jobs/sdk";
import { answerRecoveredFor, historyOf, streamInto } from "./useChat.ts";

describe("historyOf", () => {
  it("sends stopped answers as far as they got and leaves out failed ones", () => {
    expect(
      historyOf([
        { role: "user", content: "a" },
        { role: "assistant", content: "partial", stopped: true },
        { role: "user", content: "b" },
        { role: "assistant", content: "", failed: "The host does not answer." },
      ]),
    ).toEqual([
      { role: "user", content: "a" },
      { role: "assistant", content: "partial" },
      { role: "user", content: "b" },
    ]);
  });
});

describe("streamInto", () => {
  it("appends every delta but redraws the page once per frame, and once more at the end", async () => {
    const queued: (() => void)[] = [];
    let redraws = 0;
    const redraw = frameThrottle(
      () => redraws++,
      (callback) => void queued.push(callback),
    );
    async function* deltas() {
      for (let i = 0; i < 5_000; i++) yield "x";
    }
    const answer: ChatLine = { role: "assistant", content: "" };
    await streamInto(answer, deltas(), redraw);
    expect([answer.content.length, redraws]).toEqual([5_000, 1]);
    queued.splice(0).forEach((callback) => callback());
    expect(redraws).toBe(1);
  });
});

describe("answerRecoveredFor", () => {
  const exchange = (prompt: string, text: string, signedBefore: boolean): RecoveredExchange => ({
    sequence: 1n,
    request: { messages: [{ role: "user", content: prompt }] },
    text,
    promptTokens: 1,
    completionTokens: 1,
    cumulativeTokens: 2n,
    transcriptHash: "0x00",
    aborted: false,
    signedBefore,
  });

  it("takes the last exchange signed for now that asked the prompt, never one signed before the session was restored", () => {
    const earlier = exchange("Hi", "an earlier turn's answer", true);
    const served = exchange("Hi", "the answer lost in the move", false);
    expect(answerRecoveredFor([earlier, served], "Hi")).toBe(served);
    // Only an earlier turn asked the same: the host never served this request, so it is asked again.
    expect(answerRecoveredFor([earlier], "Hi")).toBeUndefined();
    expect(answerRecoveredFor([exchange("Bye", "another", false)], "Hi")).toBeUndefined();
  });
});
