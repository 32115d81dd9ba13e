import { ContractFunctionExecutionError, ContractFunctionRevertedError, createPublicClient, http, parseEther, zeroAddress, zeroHash, type Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { writeContract } from "viem/actions";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { marketplaceAbi } from "../abis.ts";
import { getNodePricing } from "../actions/getNodePricing.ts";
import { openSession } from "../actions/openSession.ts";
import { writeAndWait } from "../chain/writeAndWait.ts";
import { encodeCheckpointProof, signCheckpoint, emptyTranscriptHash } from "@session-jobs/protocol";
import type { Session } from "../session/types.ts";
import { hostPrices, startTestChain, type TestChain } from "../testUtils/chain.ts";
import {
  ContractCallError,
  ContractRevertError,
  decodeContractError,
  DepositBelowHostMinimumError,
  ExceedsDepositError,
  HostNotRegisteredError,
  InsufficientDepositError,
  OnlyHostCanSubmitProofError,
  PriceBelowHostMinimumError,
  UnknownContractRevertError,
} from "./contract.ts";

let t: TestChain;
beforeAll(async () => {
  t = await startTestChain();
});
afterAll(() => t?.stop());

/** Sends a transaction the SDK's actions would not send, and returns the failure, decoded. */
async function decodedFailure(functionName: string, send: () => Promise<Hex>) {
  const error = await send().then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error, `${functionName} should have reverted`).toBeDefined();
  return decodeContractError(error, { functionName });
}

function createSession(overrides: { host?: Hex; pricePerToken?: bigint; deposit?: bigint }) {
  const params = {
    host: overrides.host ?? t.hostWallet.account.address,
    token: zeroAddress,
    deposit: overrides.deposit ?? parseEther("0.001"),
    pricePerToken: overrides.pricePerToken ?? hostPrices.native,
    maxDuration: 3600n,
    proofInterval: 100n,
    modelId: zeroHash,
    signer: zeroAddress,
  } as const;
  return () =>
    writeContract(t.userWallet, {
      address: t.contracts.jobMarketplace,
      abi: marketplaceAbi,
      functionName: "createSession",
      args: [params],
      value: params.deposit,
    });
}

describe("decodeContractError: the seed's revert strings", () => {
  it('"Price below host minimum"', async () => {
    const error = await decodedFailure("createSession", createSession({ pricePerToken: hostPrices.native - 1n }));
    expect(error).toBeInstanceOf(PriceBelowHostMinimumError);
    expect(error).toBeInstanceOf(ContractRevertError);
    expect((error as PriceBelowHostMinimumError).reason).toBe("Price below host minimum");
    expect(error.shortMessage).toBe("Price below host minimum.");
  });

  it('"Host not registered"', async () => {
    const error = await decodedFailure("createSession", createSession({ host: t.strangerWallet.account.address }));
    expect(error).toBeInstanceOf(HostNotRegisteredError);
  });

  it('"Insufficient deposit"', async () => {
    const error = await decodedFailure("createSession", createSession({ deposit: parseEther("0.0001") }));
    expect(error).toBeInstanceOf(InsufficientDepositError);
  });

  describe("on an open session", () => {
    const sessionKey = generatePrivateKey();
    let session: Session;
    beforeAll(async () => {
      ({ session } = await openSession(t.userWallet, {
        contracts: t.contracts,
        host: t.hostWallet.account.address,
        deposit: parseEther("0.001"),
        proofInterval: 100n,
        sessionKey,
      }));
    });

    /** A proof for `tokens` more tokens, signed by `signerKey` (the session key unless given). */
    async function proofFor(tokens: bigint, signerKey: Hex = sessionKey) {
      const checkpoint = { jobId: session.jobId, cumulativeTokens: tokens, transcriptHash: emptyTranscriptHash };
      const signature = await signCheckpoint(privateKeyToAccount(signerKey), { chainId: session.chainId, marketplace: session.marketplace }, checkpoint);
      return encodeCheckpointProof({ transcriptHash: emptyTranscriptHash, signature });
    }
    const submitProof = (wallet: TestChain["hostWallet"], proof: Hex, tokens: bigint) => () =>
      writeContract(wallet, {
        address: t.contracts.jobMarketplace,
        abi: marketplaceAbi,
        functionName: "submitProofOfWork",
        args: [session.jobId, proof, tokens],
      });

    it('"Only host can submit proof"', async () => {
      const error = await decodedFailure("submitProofOfWork", submitProof(t.strangerWallet, await proofFor(10n), 10n));
      expect(error).toBeInstanceOf(OnlyHostCanSubmitProofError);
    });

    it('"Exceeds deposit"', async () => {
      const maxTokens = session.deposit / session.pricePerToken;
      const error = await decodedFailure("submitProofOfWork", submitProof(t.hostWallet, await proofFor(maxTokens + 1n), maxTokens + 1n));
      expect(error).toBeInstanceOf(ExceedsDepositError);
    });

    it("a custom error keeps its name and arguments: a receipt not signed by the session key", async () => {
      const impostorKey = generatePrivateKey();
      const error = await decodedFailure("submitProofOfWork", submitProof(t.hostWallet, await proofFor(10n, impostorKey), 10n));
      expect(error).toBeInstanceOf(ContractRevertError);
      expect(error).not.toBeInstanceOf(ExceedsDepositError);
      const revert = error as ContractRevertError;
      expect(revert.errorName).toBe("InvalidProof");
      expect(revert.args[0]).toBe(session.jobId);
      expect(revert.shortMessage).toBe(`The receipt for session ${session.jobId} is not signed by its signer ${revert.args[1]}.`);
    });

    it("a custom error after the session ended: SessionNotActive", async () => {
      await writeAndWait(t.publicClient, "completeSessionJob", () =>
        writeContract(t.userWallet, { address: t.contracts.jobMarketplace, abi: marketplaceAbi, functionName: "completeSessionJob", args: [session.jobId] }),
      );
      const error = await decodedFailure("submitProofOfWork", submitProof(t.hostWallet, await proofFor(10n), 10n));
      expect(error).toBeInstanceOf(ContractRevertError);
      expect((error as ContractRevertError).errorName).toBe("SessionNotActive");
      expect(error.shortMessage).toBe(`Session ${session.jobId} is not active (Completed).`);
    });
  });
});

describe("decodeContractError: the host's terms", () => {
  it("DepositBelowHostMinimum, with the deposit and the host's minimum", async () => {
    const setMinDeposit = (amount: bigint) => t.setHostMinDeposit(zeroAddress, amount);
    await setMinDeposit(parseEther("0.002"));
    try {
      const error = await decodedFailure("createSession", createSession({ deposit: parseEther("0.002") - 1n }));
      expect(error).toBeInstanceOf(DepositBelowHostMinimumError);
      expect(error).toMatchObject({ errorName: "DepositBelowHostMinimum", deposit: parseEther("0.002") - 1n, minimum: parseEther("0.002") });
      expect(error.shortMessage).toBe(`Deposit ${parseEther("0.002") - 1n} is below the host's minimum deposit of ${parseEther("0.002")}.`);
    } finally {
      await setMinDeposit(0n);
    }
  });
});

describe("decodeContractError: everything else", () => {
  it("an undecodable revert", () => {
    const reverted = new ContractFunctionRevertedError({ abi: [], data: "0xdeadbeef", functionName: "createSession" });
    const wrapped = new ContractFunctionExecutionError(reverted, { abi: [], functionName: "createSession", args: [] });
    const error = decodeContractError(wrapped, { functionName: "createSession" });
    expect(error).toBeInstanceOf(UnknownContractRevertError);
    expect((error as UnknownContractRevertError).signature).toBe("0xdeadbeef");
  });

  it("an RPC that does not answer", async () => {
    const dead = createPublicClient({ transport: http("http://127.0.0.1:9", { retryCount: 0 }) });
    await expect(getNodePricing(dead, { nodeRegistry: t.contracts.nodeRegistry, host: t.hostWallet.account.address })).rejects.toBeInstanceOf(
      ContractCallError,
    );
  });
});
