import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { privateKeyToAccount } from "viem/accounts";
import { chat, closeSession, getHostPolicy, getSession } from "@session-jobs/sdk";
import { demoKeys, walletFor } from "../../src/demo/localNetwork.ts";
import { demoHostPricing } from "../../src/demo/demoHost.ts";
import { hostConfigInput, neverSigningClient, openUserSession, register } from "./harness.ts";
import { useHostStack } from "./stack.ts";

// The host bounds its own exposure (docs/failure-model.md, "Host exposure"): it serves checkpoint
// intervals up to `limits.maxCheckpointInterval` and carries at most `limits.maxUnsignedTokens`
// unsigned tokens per session, whatever interval the client chose on chain.

const maxUnsignedTokens = 200;
const maxTokens = 40;
const stack = useHostStack(() => ({
  extra: { batch: { delayMs: 0 }, limits: { maxCheckpointInterval: 1_000, maxUnsignedTokens, maxTokens, defaultMaxTokens: maxTokens } },
}));

describe("the host's exposure policy", () => {
  it("is published at GET /v1/host, and the SDK reads it", async () => {
    const policy = await getHostPolicy({ hostUrl: stack.host.url });
    expect(policy).toMatchObject({
      host: privateKeyToAccount(demoKeys.host).address,
      chainId: stack.network.anvil.chainId,
      marketplace: stack.network.deployment.jobMarketplace,
      model: { id: stack.host.backend.modelId, modelIds: [stack.network.modelId] },
      pricing: { minPricePerToken: demoHostPricing.minPricePerToken, minPricePerTokenNative: demoHostPricing.minPricePerTokenNative },
      limits: { maxCheckpointInterval: 1_000n, maxUnsignedTokens: BigInt(maxUnsignedTokens), maxTokens },
    });
  });

  it("refuses a session whose checkpoint interval is above its limit before generating anything, whatever the chain's terms say", async () => {
    // The terms on chain allow 1,000,000 (published before the operator lowered the node's limit, or
    // a deployment without terms): the chain lets the session open, the node holds its own limit.
    const port = Number(new URL(stack.host.url).port);
    await register(hostConfigInput(stack.network, mkdtempSync(join(tmpdir(), "session-jobs-terms-")), port, { limits: { maxCheckpointInterval: 1_000_000 } }));
    const session = await openUserSession(stack.network, 1_000_000n);
    const send = neverSigningClient(stack.host.url, session);
    expect(await send("In the beginning", maxTokens)).toEqual({ status: 403, code: "session_terms_refused", billed: 0 });
    // Nothing was served or recorded: the session is unknown here, and the user gets the whole deposit back.
    expect((await fetch(`${stack.host.url}/v1/session/${session.jobId}`)).status).toBe(404);
    await expect(chat(session, { messages: [{ role: "user", content: "Genesis 1:1" }], maxTokens: 8 })).rejects.toMatchObject({
      code: "session_terms_refused",
    });
    const settlement = await closeSession(walletFor(stack.network, demoKeys.user), { session });
    expect(settlement.payment).toBe(0n);
  });

  it("holds its unsigned-token limit against a client that never signs, below the session's own interval", async () => {
    const session = await openUserSession(stack.network, 1_000n);
    const send = neverSigningClient(stack.host.url, session);
    let served = 0;
    let refused: { status: number; code?: string } | undefined;
    for (let exchange = 0; exchange < 50 && !refused; exchange++) {
      const answer = await send("And God said", maxTokens);
      if (answer.status === 200) served += answer.billed;
      else refused = answer;
    }
    expect(refused).toEqual({ status: 402, code: "session_receipt_overdue", billed: 0 });
    // The bound: below the host's limit before the last exchange, plus that exchange (prompt + max_tokens).
    expect(served).toBeGreaterThanOrEqual(maxUnsignedTokens);
    expect(served).toBeLessThan(maxUnsignedTokens + maxTokens + 64);
    expect(served).toBeLessThan(1_000);
    const onChain = await getSession(stack.network.publicClient, { marketplace: stack.network.deployment.jobMarketplace, jobId: session.jobId });
    expect(onChain.checkpointInterval).toBe(1_000n);
  });
});
