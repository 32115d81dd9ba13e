import { describe, expect, it } from "vitest";
import { stringToBytes, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { chat, getSession, getSettlement, jobMarketplaceWithModelsAbi, signSessionRequestHeaders } from "@session-jobs/sdk";
import { demoKeys, walletFor } from "../../src/demo/localNetwork.ts";
import { hostView, openUserSession } from "./harness.ts";
import { useHostStack } from "./stack.ts";

// The worst a user can do to the host: sign receipts up to just below a checkpoint, stop signing
// and take one more interval unsigned, then end the session itself with completeSessionJob before
// the host proves anything more. The host loses what was served but not proven: less than two
// checkpoint intervals plus one response, never more. The user pays exactly what was proven.

const interval = 100n;
const maxTokens = 40;
const stack = useHostStack();

describe("user ends the session itself, mid-interval", () => {
  it("the host loses less than two checkpoint intervals plus one response; the user pays exactly what was proven", async () => {
    const session = await openUserSession(stack.network, interval);
    const marketplace = stack.network.deployment.jobMarketplace;
    const provenOnChain = async () => (await getSession(stack.network.publicClient, { marketplace, jobId: session.jobId })).provenTokens;

    // Signed past one checkpoint: the host proves it.
    while (session.cumulativeTokens < interval) await chat(session, { messages: [{ role: "user", content: "And God said" }], maxTokens });
    for (let i = 0; (await provenOnChain()) < interval; i++) {
      expect(i).toBeLessThan(100);
      await new Promise((r) => setTimeout(r, 100));
    }
    const proven = await provenOnChain();
    // Signed again, but below the next checkpoint: not proven yet.
    if (session.cumulativeTokens === proven) await chat(session, { messages: [{ role: "user", content: "In the beginning" }], maxTokens });
    const signed = session.cumulativeTokens;
    expect(signed - proven).toBeGreaterThan(0n);
    expect(signed - proven).toBeLessThan(interval);

    // Stop signing: the host serves until one interval is unsigned, then refuses.
    let sequence = session.sequence;
    // Each request builds on the transcript the host's last answer ended at.
    let transcriptHash = session.transcriptHash;
    let refusal: string | undefined;
    let largestResponse = 0;
    for (let i = 0; !refusal; i++) {
      expect(i).toBeLessThan(20);
      sequence += 1n;
      const body = JSON.stringify({ messages: [{ role: "user", content: "Genesis 1:1" }], max_tokens: maxTokens });
      const headers = await signSessionRequestHeaders(
        privateKeyToAccount(session.sessionKey),
        { chainId: session.chainId, marketplace },
        { jobId: session.jobId, sequence, transcriptHash, endpoint: "/v1/chat/completions", body: stringToBytes(body) },
      );
      const response = await fetch(`${stack.host.url}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json", ...headers },
        body,
      });
      const json = (await response.json()) as { usage?: { total_tokens: number }; session?: { transcriptHash: Hex }; error?: { code: string } };
      if (response.status === 200) {
        largestResponse = Math.max(largestResponse, json.usage!.total_tokens);
        transcriptHash = json.session!.transcriptHash;
      } else refusal = json.error?.code;
    }
    expect(refusal).toBe("session_receipt_overdue");
    const view = await hostView(stack.host.url, session.jobId);
    expect(BigInt(view.signedTokens)).toBe(signed);
    const served = BigInt(view.servedTokens);

    // The user ends the session before the host proves the rest.
    const user = walletFor(stack.network, demoKeys.user);
    const hash = await user.writeContract({
      address: marketplace,
      abi: jobMarketplaceWithModelsAbi,
      functionName: "completeSessionJob",
      args: [session.jobId],
    });
    expect((await stack.network.publicClient.waitForTransactionReceipt({ hash })).status).toBe("success");
    const settlement = await getSettlement(stack.network.publicClient, { marketplace, jobId: session.jobId, fromBlock: session.openedAtBlock });
    expect(settlement?.provenTokens).toBe(proven);
    expect(settlement?.payment).toBe(proven * session.pricePerToken);
    expect(settlement?.refund).toBe(session.deposit - proven * session.pricePerToken);

    const hostLoss = served - proven;
    // Signed-but-unproven (< one interval) plus unsigned (< one interval + one response).
    expect(hostLoss).toBe(signed - proven + (served - signed));
    expect(served - signed).toBeGreaterThanOrEqual(interval);
    expect(served - signed).toBeLessThan(interval + BigInt(largestResponse));
    expect(hostLoss).toBeLessThan(2n * interval + BigInt(largestResponse));
    // So the loss can exceed one interval (docs/design.md: "up to about two checkpoint intervals").
    expect(hostLoss).toBeGreaterThan(interval);
  }, 55_000);
});
