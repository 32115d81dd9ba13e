import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { TokenCountMismatchError } from "../errors/session.ts";
import type { Session } from "../session/types.ts";
import { startOffChainSession } from "../test-utils/offChainSession.ts";
import { generateWords, type TestHost } from "../test-utils/testHost.ts";
import { streamChat } from "./streamChat.ts";

let session: Session;
let host: TestHost;
beforeEach(async () => ({ session, host } = await startOffChainSession()));
afterEach(() => host.stop());

const messages = [{ role: "user" as const, content: "And the earth" }];

describe("streamChat", () => {
  it("yields the text deltas and then signs a receipt for the streamed answer", async () => {
    const stream = streamChat(session, { messages, maxTokens: 6 });
    const deltas: string[] = [];
    for await (const delta of stream) deltas.push(delta);
    expect(deltas).toEqual(generateWords("And the earth", 6));
    const result = await stream.result;
    expect(result.text).toBe(deltas.join(""));
    expect(result.completionTokens).toBe(6);
    expect(host.receipts.get(1n)?.cumulativeTokens).toBe(result.cumulativeTokens);
    expect(host.receipts.get(1n)?.transcriptHash).toBe(result.transcriptHash);
  });

  it("still receipts the whole answer when the reader stops early", async () => {
    const stream = streamChat(session, { messages, maxTokens: 10 });
    for await (const delta of stream) {
      expect(delta).toBeTypeOf("string");
      break;
    }
    const result = await stream.result;
    expect(result.completionTokens).toBe(10);
    expect(host.receipts.get(1n)?.cumulativeTokens).toBe(result.cumulativeTokens);
  });

  it("throws TokenCountMismatchError from the iteration when the host overclaims", async () => {
    host.behaviour.overclaimTokens = 100;
    const stream = streamChat(session, { messages, maxTokens: 5 });
    const consume = async () => {
      for await (const _delta of stream);
    };
    await expect(consume()).rejects.toBeInstanceOf(TokenCountMismatchError);
    await expect(stream.result).rejects.toBeInstanceOf(TokenCountMismatchError);
    expect(host.receipts.size).toBe(0);
  });
});
