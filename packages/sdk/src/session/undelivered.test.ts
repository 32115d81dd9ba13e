import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { chat } from "../actions/chat.ts";
import { streamChat } from "../actions/streamChat.ts";
import { HostUnreachableError } from "../errors/host.ts";
import { SessionDisputedError, UndeliveredAnswersError } from "../errors/session.ts";
import { startOffChainSession } from "../testUtils/offChainSession.ts";
import type { TestHost } from "../testUtils/testHost.ts";
import type { RecoveredExchange } from "./reconcile.ts";
import { maxUndeliveredInARow } from "./sync.ts";
import type { Session } from "./types.ts";

// docs/design.md, "Answers that never arrived live": a host whose connection breaks off every
// answer is paid for at most `maxUndeliveredInARow` of them in a row, then the session is disputed;
// the text recovered reaches the app either way.

let session: Session;
let host: TestHost;
beforeEach(async () => ({ session, host } = await startOffChainSession()));
afterEach(() => host.stop());

const messages = [{ role: "user" as const, content: "And the earth" }];

describe("a host that drops every connection", () => {
  it("is paid for one recovered answer, then the session is disputed and the app gets the rest of the text", async () => {
    expect(maxUndeliveredInARow).toBe(1);
    host.behaviour.breakStreamAfterWords = 2;
    const recovered: RecoveredExchange[] = [];
    const onRecovered = (exchanges: RecoveredExchange[]) => recovered.push(...exchanges);
    const errors: unknown[] = [];
    for (let attempt = 0; attempt < 10; attempt++)
      errors.push(await streamChat(session, { messages, maxTokens: 50, onRecovered }).result.catch((error: unknown) => error));

    const [first, second, third, ...rest] = errors;
    expect(first).toBeInstanceOf(HostUnreachableError);
    expect(second).toBeInstanceOf(HostUnreachableError);
    expect(third).toBeInstanceOf(UndeliveredAnswersError);
    for (const error of rest) expect(error).toBeInstanceOf(SessionDisputedError);

    // Signed: the first broken answer only (2 words); the second is refused, its text handed over on the error.
    const [paid, refused] = host.exchanges.get(1n)!;
    expect(recovered).toMatchObject([{ text: paid!.responseText, aborted: true }]);
    expect((third as UndeliveredAnswersError).exchanges).toMatchObject([{ text: refused!.responseText }]);
    expect(session.cumulativeTokens).toBe(paid!.cumulativeTokens);
    expect(host.receipts.get(1n)?.cumulativeTokens).toBe(paid!.cumulativeTokens);
    expect(session.dispute).toMatch(/never arrived live/);
    expect(host.exchanges.get(1n)).toHaveLength(2);
  });

  it("a flaky network (every other answer breaks off) is never disputed: a live answer resets the count", async () => {
    for (let round = 0; round < 3; round++) {
      host.behaviour.breakStreamAfterWords = 2;
      await expect(streamChat(session, { messages, maxTokens: 20 }).result).rejects.toBeInstanceOf(HostUnreachableError);
      host.behaviour.breakStreamAfterWords = undefined;
      const next = await chat(session, { messages, maxTokens: 3 });
      expect(next.recovered).toHaveLength(1);
      expect(session.undeliveredInARow).toBe(0);
    }
    expect(session.dispute).toBeUndefined();
    expect(host.receipts.get(1n)?.cumulativeTokens).toBe(session.cumulativeTokens);
  });

  it("answers the client stopped itself never count against the host", async () => {
    host.behaviour.wordDelayMs = 5;
    for (let round = 0; round < 3; round++) {
      const controller = new AbortController();
      const stream = streamChat(session, { messages, maxTokens: 50, signal: controller.signal });
      const consume = async () => {
        for await (const _delta of stream) controller.abort();
      };
      await expect(consume()).rejects.toThrow();
      await expect(stream.result).rejects.toThrow();
      expect(session.brokenOff).toBe("client");
    }
    await chat(session, { messages, maxTokens: 3 });
    expect(session.dispute).toBeUndefined();
    expect(host.receipts.get(1n)?.cumulativeTokens).toBe(session.cumulativeTokens);
  });
});
