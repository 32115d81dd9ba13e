import { useState } from "react";
import type { Address } from "viem";
import { useAccount } from "wagmi";
import { assetOf, useDeployment } from "../DeploymentContext.ts";
import { eth, formatAmount, formatPrice, formatTokens, shortAddress } from "../format.ts";
import { ProofItem } from "../meter/proofs.tsx";
import { HostControls } from "./HostControls.tsx";
import { useHostDashboard, useRegisteredHosts } from "./useHostDashboard.ts";

/** A host's sessions, proofs with gas, earnings, gas balance and health; controls with the host's wallet. */
export function HostDashboard() {
  const deployment = useDeployment();
  const { address } = useAccount();
  const hosts = useRegisteredHosts();
  const [chosen, setChosen] = useState<Address | undefined>();
  const host = chosen ?? hosts.data?.find((candidate) => candidate === address) ?? hosts.data?.[0];
  const dashboard = useHostDashboard(host);
  const data = dashboard.data;
  const isHostWallet = Boolean(address && host && address.toLowerCase() === host.toLowerCase());

  return (
    <div className="dashboard" data-testid="host-dashboard">
      <section className="card">
        <div className="dashboard-head">
          <h2>Host dashboard</h2>
          <select aria-label="Host" value={host ?? ""} onChange={(event) => setChosen(event.target.value as Address)}>
            {hosts.data?.map((candidate) => (
              <option key={candidate} value={candidate}>
                {shortAddress(candidate)}
              </option>
            ))}
          </select>
        </div>
        {!data ? (
          <p className="muted">{hosts.data?.length === 0 ? "No host is registered." : "Reading the host from the chain…"}</p>
        ) : (
          <dl className="tiles">
            <div>
              <dt>Health</dt>
              <dd className={data.ready.ok ? "good" : "bad"}>{data.ready.ok ? "Ready" : "Not ready"}</dd>
              <small>{data.ready.detail}</small>
            </div>
            <div>
              <dt>Gas balance</dt>
              <dd>{formatAmount(data.gasBalance, eth, 4)}</dd>
              <small>pays for proofs and settlements</small>
            </div>
            {data.earnings.map((earning) => (
              <div key={earning.asset.symbol}>
                <dt>Earnings ({earning.asset.symbol})</dt>
                <dd data-testid={`earnings-${earning.asset.symbol}`}>{formatAmount(earning.amount, earning.asset)}</dd>
                <small>in HostEarnings, to withdraw</small>
              </div>
            ))}
            <div>
              <dt>Prices</dt>
              <dd className="small-dd">{deployment.usdc ? formatPrice(data.info.minPricePerToken, assetOf(deployment.usdc, deployment)) : "–"}</dd>
              <small>{formatPrice(data.info.minPricePerTokenNative, eth)}</small>
            </div>
          </dl>
        )}
        {!isHostWallet && data && <p className="hint">Read-only. Connect the host's own wallet to change prices or withdraw; the node's key never comes to this page.</p>}
      </section>
      {isHostWallet && data && <HostControls data={data} onDone={() => void dashboard.refetch()} />}
      {data && (
        <>
          <section className="card">
            <h3>Sessions</h3>
            <table className="sessions-table" data-testid="host-sessions">
              <thead>
                <tr>
                  <th>Session</th>
                  <th>Status</th>
                  <th>Served</th>
                  <th>Signed</th>
                  <th>Proven</th>
                  <th>Unsigned</th>
                </tr>
              </thead>
              <tbody>
                {data.sessions.map((session) => (
                  <tr key={String(session.jobId)} data-testid="host-session">
                    <td>#{String(session.jobId)}</td>
                    <td>
                      <span className={`status ${session.status}`}>{session.status}</span>
                    </td>
                    <td>{session.served === undefined ? "–" : formatTokens(session.served)}</td>
                    <td>{session.signed === undefined ? "–" : formatTokens(session.signed)}</td>
                    <td>{formatTokens(session.provenTokens)}</td>
                    <td>{session.unsigned === undefined ? "–" : formatTokens(session.unsigned)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </section>
          <section className="card">
            <h3>Proofs submitted</h3>
            {data.proofs.length === 0 && <p className="muted">None yet.</p>}
            <ol className="proofs wide" data-testid="host-proofs">
              {data.proofs.map((proof) => (
                <ProofItem key={`${proof.transactionHash}:${proof.jobId}`} proof={proof} showJob testId="host-proof" />
              ))}
            </ol>
          </section>
        </>
      )}
    </div>
  );
}
