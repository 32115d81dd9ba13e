import { triggerSessionTimeout, withdrawRefund } from "@session-jobs/sdk";
import { useMutation } from "@tanstack/react-query";
import { useState } from "react";
import type { Address } from "viem";
import { useAccount, useWalletClient } from "wagmi";
import { assetOf, useDeployment } from "../DeploymentContext.ts";
import { describeError } from "../errors.ts";
import { formatAmount, formatTokens, shortAddress, statusText } from "../format.ts";
import { Pager } from "../Pager.tsx";
import { useMySessions } from "./useMySessions.ts";

/**
 * The wallet's sessions from chain events, 20 a page, newest first, with the action each needs:
 * resume, time out, withdraw.
 */
export function MySessions(props: { onResume: (id: string) => void }) {
  const deployment = useDeployment();
  const { address, isConnected } = useAccount();
  const { data: walletClient } = useWalletClient();
  // Another wallet starts on its newest page.
  const [paging, setPaging] = useState<{ address: Address | undefined; page: number }>({ address, page: 0 });
  const page = paging.address === address ? paging.page : 0;
  const mine = useMySessions(page);
  const act = useMutation({
    mutationFn: async (call: { timeOut: bigint } | { withdraw: Address }) => {
      if (!walletClient) throw new Error("Connect the wallet that opened these sessions first.");
      const marketplace = deployment.jobMarketplace;
      if ("timeOut" in call) {
        await triggerSessionTimeout(walletClient, { marketplace, jobId: call.timeOut });
        return `Session #${call.timeOut} is timed out: what was proven is paid, the rest refunded.`;
      }
      await withdrawRefund(walletClient, { marketplace, token: call.withdraw });
      return "The refund is in your wallet.";
    },
    onSuccess: () => mine.refetch(),
  });

  if (!isConnected) return <section className="card">Connect a wallet to see its sessions.</section>;
  if (mine.isLoading) return <section className="card">Reading your sessions from the chain…</section>;
  const data = mine.data;
  return (
    <section className="card my-sessions">
      <h2>My sessions</h2>
      {act.data && !act.isPending && (
        <p className="done" role="status">
          {act.data}
        </p>
      )}
      {act.error && (
        <p className="error" role="alert">
          {describeError(act.error)}
        </p>
      )}
      {data?.refunds.map((refund) => (
        <div className="notice" key={refund.token}>
          {formatAmount(refund.amount, assetOf(refund.token, deployment))} of refunds could not be sent automatically and wait for you.
          <button className="primary" disabled={act.isPending} onClick={() => act.mutate({ withdraw: refund.token })}>
            Withdraw
          </button>
        </div>
      ))}
      {data?.sessionCount === 0 && <p className="muted">No sessions yet.</p>}
      <table className="sessions-table">
        <thead>
          <tr>
            <th>Session</th>
            <th>Host</th>
            <th>Status</th>
            <th>Proven</th>
            <th>Deposit</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {data?.sessions.map(({ onChain, stored }) => {
            const expired = onChain.status === "active" && onChain.expired;
            return (
              <tr key={String(onChain.jobId)} data-testid="my-session">
                <td>#{String(onChain.jobId)}</td>
                <td className="mono">{shortAddress(onChain.host)}</td>
                <td>
                  <span className={`status ${expired ? "expired" : onChain.status}`}>{expired ? "past max duration" : statusText(onChain.status)}</span>
                </td>
                <td>{formatTokens(onChain.provenTokens)}</td>
                <td>{formatAmount(onChain.depositAmount, assetOf(onChain.token, deployment))}</td>
                <td className="row-actions">
                  {onChain.actions.includes("timeout") && (
                    <button className="secondary" disabled={act.isPending} onClick={() => act.mutate({ timeOut: onChain.jobId })}>
                      Time out
                    </button>
                  )}
                  {stored && (
                    <button className="secondary" onClick={() => props.onResume(stored.id)}>
                      {onChain.status === "active" && !stored.closed ? "Resume" : "View"}
                    </button>
                  )}
                  {!stored && onChain.status === "active" && !onChain.actions.includes("timeout") && (
                    <span className="muted small">key in another browser</span>
                  )}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
      {data && (
        <>
          <Pager count={data.sessionCount} page={page} onPage={(next) => setPaging({ address, page: next })} rangeTestId="my-sessions-range" />
          <p className="muted small">
            As of block <span data-testid="my-sessions-block">{data.blockNumber.toLocaleString("en-US")}</span>, read again at each new block.
          </p>
        </>
      )}
    </section>
  );
}
