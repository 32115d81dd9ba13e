/**
 * The host node with the real embedded model (node-llama-cpp, the repository's GGUF) on anvil:
 * token counts come from the model's own tokenizer, the client's count bounds hold, and the
 * signed receipts settle on chain.
 */
import { join } from "node:path";
import { createEmbeddedBackend, type ChatBackend } from "@session-jobs/inference";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createCommon } from "./common.ts";
import { createHostNode, type HostNode } from "./node.ts";
import { registerHost } from "./chain/register.ts";
import { startTestChain, type TestChain } from "./testUtils/testChain.ts";
import { createTestClient } from "./testUtils/testClient.ts";
import { tempDirsRemovedAfterAll } from "./testUtils/tempDirs.ts";

const tempDir = tempDirsRemovedAfterAll();

let chain: TestChain;
let backend: ChatBackend;
let node: HostNode;

beforeAll(async () => {
  [chain, backend] = await Promise.all([startTestChain(), createEmbeddedBackend()]);
  const config = chain.hostConfig({ dbPath: join(tempDir("host-embedded-"), "host.sqlite"), batch: { delayMs: 0 } });
  await registerHost({ config });
  node = createHostNode({ common: createCommon({ logLevel: "silent" }), config, backend });
  await node.start();
}, 60_000);

afterAll(async () => {
  await node?.stop();
  await backend?.close();
  await chain?.stop();
});

describe("host node with the embedded model", () => {
  it("bills the model's own token counts, within the client's bounds, and settles them", async () => {
    const price = 2_000_000_000n;
    const { jobId, sessionKey } = await chain.openSession({ host: node.address, pricePerToken: price, deposit: 10n ** 15n, proofInterval: 100n });
    const client = createTestClient({ url: node.url, jobId, sessionKey, domain: chain.domain });

    const prompts = ["In the beginning", "And God said", "Let there be light"];
    for (const [index, content] of prompts.entries()) {
      const request = { model: backend.modelId, messages: [{ role: "user", content }], max_tokens: 48, temperature: 0, stream: index % 2 === 0 };
      const answer = await client.chat(request);
      expect(answer.status).toBe(200);
      const { promptTokens, completionTokens } = answer.session!;
      expect(answer.text.length).toBeGreaterThan(0);
      expect(completionTokens).toBeGreaterThan(0);
      expect(completionTokens).toBeLessThanOrEqual(48);
      expect(completionTokens).toBeLessThanOrEqual(Buffer.byteLength(answer.text) + 1);
      // <s>, <|user|>, the content's tokens (each at least one byte), <|assistant|>; inference's parity test checks them exactly.
      expect(promptTokens).toBeGreaterThanOrEqual(4);
      expect(promptTokens).toBeLessThanOrEqual(Buffer.byteLength(content) + 3);
      expect(answer.session!.transcriptHash).toBe(client.transcriptHash);
      expect((await client.sendReceipt()).status).toBe(200);
    }

    const closed = await client.post("/v1/session/close", { jobId: jobId.toString() });
    expect(closed.status).toBe(200);
    const settlement = await chain.settlement((await closed.json()).transactionHash);
    expect(settlement).toMatchObject({ provenTokens: client.cumulativeTokens, payment: client.cumulativeTokens * price });
  });
});
