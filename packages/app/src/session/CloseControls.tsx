import { SessionCloseInProgressError, type Session } from "@session-jobs/sdk";
import { useState } from "react";
import { assetOf, useDeployment } from "../DeploymentContext.ts";
import { describeError, findCause } from "../errors.ts";
import { formatAmount, formatTokens } from "../format.ts";
import { useChainProgress } from "../meter/useSessionProgress.ts";
import { closeWaitingText, type CloseProgress } from "./closeProgress.ts";
import { forcedCloseWaitMs, type useCloseSession } from "./useCloseSession.ts";

type Close = ReturnType<typeof useCloseSession>["close"];

/**
 * Close and settle, what the close is waiting for (`progress`: the host, asked again while it does
 * not answer; its settlement; the wallet's), and its error. When the host keeps answering
 * that a close is under way and never settles (`SessionCloseInProgressError`), and only then, the
 * way out: settle on chain without the host, once the user has read what it costs and confirmed.
 */
export function CloseControls(props: { session: Session; close: Close; progress: CloseProgress; closed: boolean; onNew: () => void }) {
  const { close } = props;
  const [confirming, setConfirming] = useState(false);
  const underWay = findCause(close.error, SessionCloseInProgressError);
  const forcing = close.isPending && close.variables.force;
  return (
    <>
      <div className="actions">
        {!props.closed && (
          <button className="secondary" disabled={close.isPending} onClick={() => close.mutate({ force: false })}>
            {forcing ? "Settling on chain…" : close.isPending ? "Closing and settling…" : "Close session and settle"}
          </button>
        )}
        {underWay && !close.isPending && !confirming && (
          <button className="secondary danger" onClick={() => setConfirming(true)}>
            Settle without the host…
          </button>
        )}
        <button className="link" onClick={props.onNew}>
          Start another session
        </button>
      </div>
      {close.isPending && (
        <p className="hint" data-testid="close-waiting">
          {closeWaitingText(props.progress, forcing ? forcedCloseWaitMs / 1000 : undefined)}
        </p>
      )}
      {close.error && !close.isPending && (
        <div role="alert">
          <p className="error" data-testid="close-error">
            {describeError(close.error)}
          </p>
          {underWay && (
            <p className="hint" data-testid="close-hint">
              Hint: {underWay.hint}.
            </p>
          )}
        </div>
      )}
      {underWay && confirming && !close.isPending && (
        <ForceCloseConfirmation
          session={props.session}
          onConfirm={() => {
            setConfirming(false);
            close.mutate({ force: true });
          }}
          onCancel={() => setConfirming(false)}
        />
      )}
    </>
  );
}

/** What settling without the host costs, with the chain's numbers, and the choice. */
function ForceCloseConfirmation(props: { session: Session; onConfirm: () => void; onCancel: () => void }) {
  const { session } = props;
  const asset = assetOf(session.token, useDeployment());
  const proven = useChainProgress(session).onChain?.provenTokens;
  const paid = proven === undefined ? undefined : proven * session.pricePerToken;
  const unproven = proven === undefined || session.cumulativeTokens <= proven ? 0n : session.cumulativeTokens - proven;
  return (
    <section className="card confirm" data-testid="force-close" aria-label="Settle without the host">
      <h3>Settle on chain without the host?</h3>
      <p>
        The host keeps answering that a close of this session is under way, but it has not settled. If your wallet settles now, the host is paid for the tokens
        it has proven on chain
        {proven !== undefined && paid !== undefined && ` (${formatTokens(proven)} tokens, ${formatAmount(paid, asset)})`}, the rest of your deposit is refunded
        to you{paid !== undefined && paid <= session.deposit && ` (${formatAmount(session.deposit - paid, asset)})`}, and receipts you signed that the host has
        not proven yet are lost to the host, not to you{unproven > 0n && ` (${formatTokens(unproven)} tokens)`}.
      </p>
      <p className="hint">The host gets {forcedCloseWaitMs / 1000} s more to settle first; your wallet pays the gas of the settlement.</p>
      <div className="actions">
        <button className="primary" onClick={props.onConfirm}>
          Settle on chain now
        </button>
        <button className="secondary" onClick={props.onCancel}>
          Cancel
        </button>
      </div>
    </section>
  );
}
