import { isHex, type Address, type Hex } from "viem";
import type { Checkpoint } from "@session-jobs/protocol";
import type { OnChainSession } from "../chain/chainSession.ts";
import type { Common } from "../common.ts";
import { HostError } from "../errors.ts";
import type { Store } from "../store/storeTypes.ts";
import { createRefuse } from "./refusal.ts";

export type CreateReceiptsParameters = {
  common: Common;
  store: Store;
  readSession: (jobId: bigint) => Promise<OnChainSession>;
  isSignedBy: (jobId: bigint, signer: Address, checkpoint: Checkpoint, signature: Hex) => Promise<boolean>;
  /** Called after a receipt is stored, so that proofs can be scheduled. */
  onReceiptStored?: (jobId: bigint) => void;
};

/** Takes the client's signed receipts: only for a count and transcript the host itself served, signed by the session signer. */
export function createReceipts({ common, store, readSession, isSignedBy, onReceiptStored }: CreateReceiptsParameters) {
  const rejected = createRefuse(common.metrics.receiptsRejected);
  return {
    /** Verifies a signed receipt against the host's own record and stores it durably. */
    async acceptReceipt(input: unknown): Promise<{ stored: true; cumulativeTokens: string }> {
      const receipt = parseReceipt(input);
      store.assertWritable();
      const state = await store.session(receipt.jobId);
      if (!state) return rejected("session_unknown", `this host has served nothing for session ${receipt.jobId}`);
      if (receipt.cumulativeTokens > BigInt(state.servedTokens))
        rejected("session_receipt_mismatch", `receipt covers ${receipt.cumulativeTokens} tokens; ${state.servedTokens} were served`);
      const candidates = await store.exchangesAt(receipt.jobId, Number(receipt.cumulativeTokens));
      if (candidates.length === 0)
        return rejected("session_receipt_mismatch", `no exchange of session ${receipt.jobId} ends at ${receipt.cumulativeTokens} tokens`);
      const exchange = candidates.find((candidate) => candidate.transcriptHash === receipt.transcriptHash.toLowerCase());
      if (!exchange)
        return rejected(
          "session_receipt_mismatch",
          `transcript hash at ${receipt.cumulativeTokens} tokens is ${candidates.at(-1)!.transcriptHash}, not ${receipt.transcriptHash}`,
        );

      const session = await readSession(receipt.jobId);
      const checkpoint: Checkpoint = { jobId: receipt.jobId, cumulativeTokens: receipt.cumulativeTokens, transcriptHash: exchange.transcriptHash };
      if (!(await isSignedBy(receipt.jobId, session.signer, checkpoint, receipt.signature)))
        rejected(
          "session_bad_signature",
          "receipt is not signed by the session signer (an ECDSA signature must be 65 bytes r‖s‖v with a low s and v 27 or 28, as the chain checks it)",
        );

      const isNew = await store.storeReceipt({
        jobId: receipt.jobId,
        cumulativeTokens: Number(receipt.cumulativeTokens),
        transcriptHash: exchange.transcriptHash,
        signature: receipt.signature,
      });
      if (isNew) {
        common.metrics.receiptsStored.inc();
        onReceiptStored?.(receipt.jobId);
      }
      return { stored: true, cumulativeTokens: receipt.cumulativeTokens.toString() };
    },
  };
}

function parseReceipt(input: unknown): { jobId: bigint; cumulativeTokens: bigint; transcriptHash: Hex; signature: Hex } {
  if (typeof input !== "object" || input === null) throw new HostError("invalid_request", "receipt must be a JSON object");
  const { jobId, cumulativeTokens, transcriptHash, signature } = input as Record<string, unknown>;
  const decimal = (value: unknown) =>
    (typeof value === "string" && /^\d{1,78}$/.test(value)) || (typeof value === "number" && Number.isSafeInteger(value) && value >= 0);
  if (!decimal(jobId)) throw new HostError("invalid_request", "jobId must be a decimal string");
  if (!decimal(cumulativeTokens) || BigInt(cumulativeTokens as string) === 0n)
    throw new HostError("invalid_request", "cumulativeTokens must be a positive decimal string");
  if (typeof transcriptHash !== "string" || !isHex(transcriptHash) || transcriptHash.length !== 66)
    throw new HostError("invalid_request", "transcriptHash must be 32 bytes of hex");
  if (typeof signature !== "string" || !isHex(signature) || signature.length < 4) throw new HostError("invalid_request", "signature must be hex");
  return { jobId: BigInt(jobId as string), cumulativeTokens: BigInt(cumulativeTokens as string), transcriptHash, signature };
}
