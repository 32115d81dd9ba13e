import { describe, expect, it } from "vitest";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { chat, signCheckpoint } from "@session-jobs/sdk";
import { hostView, openUserSession } from "./harness.ts";
import { useCountingRpcHostStack } from "./stack.ts";

// Anyone can read a session's counts and transcript hash (GET /v1/session/:jobId) and post a
// receipt with a forged signature. The host checks it with ECDSA and asks the chain about ERC-1271
// only for a signer that is a contract, which it learns once per session, the first time a receipt
// fails the ECDSA check: a session's forgeries cost one eth_getCode in all, and no eth_call.

// The session's chain state is cached for the test's length: every eth_call counted below is one a receipt caused.
const { stack, rpc } = useCountingRpcHostStack();

describe("forged receipts", () => {
  it("are refused without an RPC call each (one eth_getCode per session in all)", async () => {
    const session = await openUserSession(stack.network, 1_000n);
    await chat(session, { messages: [{ role: "user", content: "In the beginning" }], maxTokens: 20 });
    await chat(session, { messages: [{ role: "user", content: "And God said" }], maxTokens: 20 });
    const view = await hostView(stack.host.url, session.jobId);
    const before = { calls: rpc().count("eth_call"), code: rpc().count("eth_getCode") };

    const forger = privateKeyToAccount(generatePrivateKey());
    const checkpoint = { jobId: session.jobId, cumulativeTokens: BigInt(view.servedTokens), transcriptHash: view.transcriptHash };
    const forgedSignature = await signCheckpoint(forger, session, checkpoint);
    const forgeries = [forgedSignature, `0x${"11".repeat(65)}`, `0x${"ab".repeat(200)}`, `0x${"00".repeat(65)}`] as const;
    for (let round = 0; round < 10; round++)
      for (const signature of forgeries) {
        const response = await fetch(`${stack.host.url}/v1/session/receipt`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ jobId: String(session.jobId), cumulativeTokens: view.servedTokens, transcriptHash: view.transcriptHash, signature }),
        });
        expect(response.status).toBe(401);
        expect(((await response.json()) as { error: { code: string } }).error.code).toBe("session_bad_signature");
      }

    expect(rpc().count("eth_call") - before.calls).toBe(0);
    expect(rpc().count("eth_getCode") - before.code).toBe(1); // the first forgery's, for all 40
    // The honest receipt still counts: the session stands as the client signed it.
    expect((await hostView(stack.host.url, session.jobId)).signedTokens).toBe(view.servedTokens);
  });
});
