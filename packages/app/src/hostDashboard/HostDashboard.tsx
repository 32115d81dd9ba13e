import { useState } from "react";
import type { Address } from "viem";
import { useAccount } from "wagmi";
import { assetOf, useDeployment } from "../DeploymentContext.ts";
import { eth, formatAmount, formatPrice, formatTokens, shortAddress } from "../format.ts";
import { ProofItem } from "../meter/proofs.tsx";
import { HostControls } from "./HostControls.tsx";
import { HostSessions } from "./HostSessions.tsx";
import { useHostDashboard, useRegisteredHosts } from "./useHostDashboard.ts";

/**
 * A host's sessions, proofs with gas, earnings, gas balance and health; controls with the host's
 * wallet. With `host` (the page is served by that host's node) it shows that host only and reads
 * the node on the page's own origin; otherwise any registered host, picked from a list.
 */
export function HostDashboard(props: { host?: Address }) {
  const deployment = useDeployment();
  const { address } = useAccount();
  const hosts = useRegisteredHosts(props.host === undefined);
  const [chosen, setChosen] = useState<Address | undefined>();
  const [page, setPage] = useState(0);
  const host = props.host ?? chosen ?? hosts.data?.find((candidate) => candidate === address) ?? hosts.data?.[0];
  const dashboard = useHostDashboard(host, props.host ? window.location.origin : undefined, page);
  const data = dashboard.data;
  const isHostWallet = Boolean(address && host && address.toLowerCase() === host.toLowerCase());

  return (
    <div className="dashboard" data-testid="host-dashboard">
      <section className="card">
        <div className="dashboard-head">
          <h2>Host dashboard</h2>
          {props.host ? (
            <span className="mono" title={props.host} data-testid="dashboard-host">
              {shortAddress(props.host)}
            </span>
          ) : (
            <select
              aria-label="Host"
              value={host ?? ""}
              onChange={(event) => {
                setChosen(event.target.value as Address);
                setPage(0);
              }}
            >
              {hosts.data?.map((candidate) => (
                <option key={candidate} value={candidate}>
                  {shortAddress(candidate)}
                </option>
              ))}
            </select>
          )}
        </div>
        {dashboard.error && !data ? (
          <p className="error" role="alert">
            {props.host ? "This host is not registered on this chain yet: run `session-jobs host register`." : "Could not read this host from the chain."}
          </p>
        ) : !data ? (
          <p className="muted">{hosts.data?.length === 0 ? "No host is registered." : "Reading the host from the chain…"}</p>
        ) : (
          <dl className="tiles">
            <div>
              <dt>Health</dt>
              <dd className={data.ready.ok ? "good" : "bad"} data-testid="host-health">
                {data.ready.ok ? "Ready" : "Not ready"}
              </dd>
              {Object.keys(data.ready.checks).length === 0 ? (
                <small>{data.ready.detail}</small>
              ) : (
                <ul className="health-checks" data-testid="host-checks">
                  {Object.entries(data.ready.checks).map(([name, result]) => (
                    <li key={name} className={result === "ok" ? "ok" : "bad"} title={result}>
                      {name}: {result}
                    </li>
                  ))}
                </ul>
              )}
            </div>
            <div>
              <dt>Gas balance</dt>
              <dd>{formatAmount(data.gasBalance, eth, 4)}</dd>
              <small>the node's account; pays for proofs and settlements</small>
            </div>
            {data.earnings.map((earning) => (
              <div key={earning.asset.symbol}>
                <dt>Earnings ({earning.asset.symbol})</dt>
                <dd data-testid={`earnings-${earning.asset.symbol}`}>{formatAmount(earning.amount, earning.asset)}</dd>
                <small>in HostEarnings, to withdraw</small>
              </div>
            ))}
            <div>
              <dt>Sessions</dt>
              <dd data-testid="host-session-count">{data.sessionCount.toLocaleString("en-US")}</dd>
              <small>
                <span data-testid="host-proven-total">{formatTokens(data.provenTokens)}</span> tokens proven in all
              </small>
            </div>
            <div>
              <dt>Prices</dt>
              <dd className="small-dd" data-testid="host-price-USDC">
                {deployment.usdc ? formatPrice(data.info.minPricePerToken, assetOf(deployment.usdc, deployment)) : "–"}
              </dd>
              <small data-testid="host-price-ETH">{formatPrice(data.info.minPricePerTokenNative, eth)}</small>
            </div>
            <div>
              <dt>Terms</dt>
              <dd className="small-dd" data-testid="host-terms">
                checkpoints ≤ {formatTokens(data.info.maxCheckpointInterval)} tokens
              </dd>
              <small>{data.info.active ? "registered and active" : "not registered"}</small>
            </div>
          </dl>
        )}
        {data && (
          <p className="muted small">
            As of block <span data-testid="host-block">{data.blockNumber.toLocaleString("en-US")}</span>, read again at each new block.
          </p>
        )}
        {!isHostWallet && data && (
          <p className="hint">Read-only. Connect the host's own wallet to change prices or terms, or to withdraw; the node's key never comes to this page.</p>
        )}
      </section>
      {isHostWallet && data && <HostControls data={data} onDone={() => void dashboard.refetch()} />}
      {data && (
        <>
          <HostSessions sessions={data.sessions} sessionCount={data.sessionCount} page={page} onPage={setPage} />
          <section className="card">
            <h3>Proofs submitted</h3>
            {data.proofs.length === 0 && <p className="muted">None yet.</p>}
            {data.proofs.length < data.proofCount && (
              <p className="hint">
                The {data.proofs.length} most recent of {data.proofCount.toLocaleString("en-US")}.
              </p>
            )}
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
