import type { Address, Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { createChainClock, type ChainClock } from "../chain/chainClock.ts";
import type { OnChainSession } from "../chain/chainSession.ts";

const zeroAddress: Address = "0x0000000000000000000000000000000000000000";

/** TEST HELPER: an active session as the chain reports it, created now by a fresh depositor, with a deposit and terms no test limit refuses. */
export function onChainSessionFields({ host, signer, modelId }: { host: Address; signer: Address; modelId: Hex }): Omit<OnChainSession, "jobId"> {
  const nowSeconds = BigInt(Math.floor(Date.now() / 1000));
  return {
    depositor: privateKeyToAccount(generatePrivateKey()).address,
    host,
    token: zeroAddress,
    signer,
    modelId,
    depositAmount: 10n ** 15n,
    pricePerToken: 10n ** 9n,
    provenTokens: 0n,
    maxTokens: 10n ** 6n,
    checkpointInterval: 100n,
    maxDuration: 3600n,
    createdAt: nowSeconds,
    lastActivity: nowSeconds,
    status: "active",
  };
}

/** TEST HELPER: the clock of a chain whose time is the wall clock's (the sessions above are created on it). */
export function wallChainClock(): ChainClock {
  return createChainClock({ number: 0n, timestamp: BigInt(Math.floor(Date.now() / 1000)) });
}
