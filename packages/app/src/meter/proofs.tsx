import type { Client, Hash } from "viem";
import { getTransactionReceipt } from "viem/actions";
import { eth, formatAmount, formatTokens, shortHash } from "../format.ts";

/** A `ProofSubmitted` that landed, with the gas its transaction used and what that gas cost in wei. */
export type LandedProof = { jobId: bigint; tokens: bigint; transactionHash: Hash; gasUsed: bigint; gasCost: bigint };

/** Adds each proof transaction's gas to `ProofSubmitted` logs. */
export function withGas(client: Client, logs: readonly { args: { jobId?: bigint; tokens?: bigint }; transactionHash: Hash }[]): Promise<LandedProof[]> {
  return Promise.all(
    logs.map(async (log) => {
      const receipt = await getTransactionReceipt(client, { hash: log.transactionHash });
      return {
        jobId: log.args.jobId!,
        tokens: log.args.tokens!,
        transactionHash: log.transactionHash,
        gasUsed: receipt.gasUsed,
        gasCost: receipt.gasUsed * receipt.effectiveGasPrice,
      };
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
