/** TEST HELPER: a session that exists only off chain, for tests of the HTTP protocol alone. */
import { zeroAddress, type Address } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { emptyTranscriptHash } from "@session-jobs/protocol";
import type { Session } from "../session/types.ts";
import { startTestHost, type TestHost } from "./testHost.ts";

export const offChainDomain = { chainId: 31337, marketplace: "0x5FbDB2315678afecb367f032d93F642f64180aa3" as Address };

/** A test double that serves job 1 for the returned session's key. */
export async function startOffChainSession(): Promise<{ session: Session; host: TestHost }> {
  const sessionKey = generatePrivateKey();
  const signer = privateKeyToAccount(sessionKey).address;
  const host = await startTestHost({ domain: offChainDomain, signerOf: async (jobId) => (jobId === 1n ? signer : undefined) });
  const session: Session = {
    ...offChainDomain,
    jobId: 1n,
    openedAtBlock: 0n,
    host: zeroAddress,
    hostUrl: host.url,
    sessionKey,
    token: zeroAddress,
    deposit: 10n ** 18n,
    pricePerToken: 1n,
    proofInterval: 1000n,
    modelId: `0x${"11".repeat(32)}`,
    model: "test-model",
    sequence: 0n,
    transcriptHash: emptyTranscriptHash,
    cumulativeTokens: 0n,
  };
  return { session, host };
}
