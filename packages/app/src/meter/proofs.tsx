import type { Client, Hash } from "viem";
import { getTransactionReceipt } from "viem/actions";
import { eth, formatAmount, formatTokens, shortHash } from "../format.ts";

/** A `ProofSubmitted` that landed, with the gas its transaction used and what that gas cost in wei. */
export type LandedProof = { jobId: bigint; tokens: bigint; transactionHash: Hash; gasUsed: bigint; gasCost: bigint };

/** A `ProofSubmitted` log as the dashboard and the meter read it. */
export type ProofLog = { args: { jobId: bigint; tokens: bigint }; transactionHash: Hash; blockHash: Hash; blockNumber: bigint };

/** The gas of proof transactions already read, by transaction and block hash (a reorg that moves one reads it again). */
export type ReceiptCache = Map<string, Pick<LandedProof, "gasUsed" | "gasCost">>;

/** Adds each proof transaction's gas to `ProofSubmitted` logs, reading only the receipts `cache` does not hold yet. */
export function withGas(client: Client, logs: readonly ProofLog[], cache: ReceiptCache): Promise<LandedProof[]> {
  return Promise.all(
    logs.map(async (log) => {
      const key = `${log.transactionHash}:${log.blockHash}`;
      let gas = cache.get(key);
      if (!gas) {
        const receipt = await getTransactionReceipt(client, { hash: log.transactionHash });
        gas = { gasUsed: receipt.gasUsed, gasCost: receipt.gasUsed * receipt.effectiveGasPrice };
        cache.set(key, gas);
      }
      return { jobId: log.args.jobId, tokens: log.args.tokens, transactionHash: log.transactionHash, ...gas };
    }),
  );
}

/** One proof in a list: tokens (with the session when `showJob`), gas, transaction hash (and the gas's cost when `showJob`). */
export function ProofItem(props: { proof: LandedProof; showJob?: boolean; testId: string }) {
  const { proof } = props;
  return (
    <li data-testid={props.testId}>
      <strong>
        {props.showJob ? `#${proof.jobId} · ` : ""}
        {formatTokens(proof.tokens)} tokens
      </strong>
      <span>{formatTokens(proof.gasUsed)} gas</span>
      <span className="mono" title={proof.transactionHash}>
        {shortHash(proof.transactionHash)}
      </span>
      {props.showJob && <span className="muted">{formatAmount(proof.gasCost, eth, 4)}</span>}
    </li>
  );
}
