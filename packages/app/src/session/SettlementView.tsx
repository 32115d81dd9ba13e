import { getSession, getSettlement, type Session, type Settlement } from "@session-jobs/sdk";
import { useQuery } from "@tanstack/react-query";
import { usePublicClient } from "wagmi";
import { assetOf, useDeployment } from "../DeploymentContext.ts";
import { formatAmount, formatTokens, shortHash } from "../format.ts";
import { checkSettlement } from "./checkSettlement.ts";

/** The settlement as the contract computed it, read back from the chain and checked. */
export function SettlementView(props: { session: Session; reported?: Settlement | undefined }) {
  const { session } = props;
  const deployment = useDeployment();
  const client = usePublicClient();
  const asset = assetOf(session.token, deployment);
  const target = { marketplace: session.marketplace, jobId: session.jobId };
  const read = useQuery({
    queryKey: ["settlement", session.marketplace, String(session.jobId)],
    enabled: Boolean(client),
    queryFn: async () => {
      const [settlement, onChain] = await Promise.all([getSettlement(client!, { ...target, fromBlock: session.openedAtBlock }), getSession(client!, target)]);
      if (!settlement) throw new Error("The session has no settlement on chain yet.");
      return { settlement, checks: checkSettlement(settlement, onChain, props.reported) };
    },
  });
  if (read.isLoading) return <section className="card">Reading the settlement from the chain…</section>;
  if (!read.data) return <section className="card error">{read.error instanceof Error ? read.error.message : "No settlement yet."}</section>;
  const { settlement, checks } = read.data;
  const allOk = checks.every((check) => check.ok);
  // Every digit: this is the money the contract moved.
  const exact = (value: bigint) => formatAmount(value, asset, asset.decimals);
  const rows: [string, string, string][] = [
    ["Tokens proven", formatTokens(settlement.provenTokens), "proven"],
    ["Payment", exact(settlement.payment), "payment"],
    ["Host (90%)", exact(settlement.hostEarnings), "host"],
    ["Treasury (10%)", exact(settlement.treasuryFee), "treasury"],
    ["Refund to you", exact(settlement.refund), "refund"],
  ];
  return (
    <section className="card settlement" data-testid="settlement">
      <h2>Session #{String(session.jobId)} settled</h2>
      <dl>
        {rows.map(([label, value, id]) => (
          <div key={id}>
            <dt>{label}</dt>
            <dd data-testid={`settlement-${id}`}>{value}</dd>
          </div>
        ))}
      </dl>
      {settlement.completedBy.toLowerCase() !== session.host.toLowerCase() && (
        <p className="notice" data-testid="settled-by-you">
          The host did not settle this session: your wallet settled it on chain. The host is paid for the tokens it proved; the rest of the deposit is refunded
          to you.
        </p>
      )}
      <p className="muted small">
        Transaction <span className="mono">{shortHash(settlement.transactionHash)}</span> in block {String(settlement.blockNumber)}
      </p>
      <ul className={`checks ${allOk ? "ok" : "bad"}`} data-testid="settlement-checks">
        {checks.map((check) => (
          <li key={check.label} className={check.ok ? "ok" : "bad"}>
            {check.ok ? "✓" : "✗"} {check.label}
          </li>
        ))}
      </ul>
    </section>
  );
}
