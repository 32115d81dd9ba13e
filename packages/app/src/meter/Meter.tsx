import type { Session } from "@session-jobs/sdk";
import { assetOf, useDeployment } from "../DeploymentContext.ts";
import { formatAmount, formatTokens, statusText } from "../format.ts";
import { ProofItem } from "./proofs.tsx";
import { useChainProgress, useServedTokens } from "./useSessionProgress.ts";

/** The live meter: tokens served / signed / proven, cost, deposit left, next checkpoint, proofs. */
export function Meter(props: { session: Session }) {
  const { session } = props;
  const deployment = useDeployment();
  const asset = assetOf(session.token, deployment);
  const served = useServedTokens(session);
  const { onChain, proofs } = useChainProgress(session);
  const signed = session.cumulativeTokens;
  const proven = onChain?.provenTokens ?? 0n;
  const cost = signed * session.pricePerToken;
  const left = session.deposit > cost ? session.deposit - cost : 0n;
  const untilCheckpoint = proven + session.proofInterval > signed ? proven + session.proofInterval - signed : 0n;
  const share = Number((signed * 1000n) / (session.deposit / session.pricePerToken || 1n)) / 10;

  return (
    <aside className="card meter" data-testid="meter">
      <div className="meter-head">
        <h3>Session #{String(session.jobId)}</h3>
        <span className={`status ${onChain?.status ?? "active"}`}>{onChain ? statusText(onChain.status) : "…"}</span>
      </div>
      <dl className="counts">
        <div>
          <dt>Served</dt>
          <dd data-testid="served">{served.data === undefined ? "–" : formatTokens(served.data)}</dd>
        </div>
        <div>
          <dt>Signed</dt>
          <dd data-testid="signed">{formatTokens(signed)}</dd>
        </div>
        <div>
          <dt>Proven</dt>
          <dd data-testid="proven">{formatTokens(proven)}</dd>
        </div>
      </dl>
      <div className="bar" aria-label="deposit used">
        <span style={{ width: `${Math.min(100, share)}%` }} />
      </div>
      <dl className="money">
        <div>
          <dt>Cost so far</dt>
          <dd data-testid="cost">{formatAmount(cost, asset)}</dd>
        </div>
        <div>
          <dt>Deposit left</dt>
          <dd data-testid="deposit-left">{formatAmount(left, asset)}</dd>
        </div>
        <div>
          <dt>Next checkpoint in</dt>
          <dd data-testid="next-checkpoint">{onChain && onChain.status !== "active" ? "–" : `${formatTokens(untilCheckpoint)} tokens`}</dd>
        </div>
      </dl>
      <h4>Checkpoint proofs on chain</h4>
      {proofs.length === 0 ? (
        <p className="muted small">None yet: the host proves every {formatTokens(session.proofInterval)} signed tokens.</p>
      ) : (
        <ol className="proofs" data-testid="proofs">
          {proofs.map((proof) => (
            <ProofItem key={proof.transactionHash} proof={proof} testId="proof" />
          ))}
        </ol>
      )}
    </aside>
  );
}
