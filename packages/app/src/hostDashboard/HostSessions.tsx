import { assetOf, useDeployment } from "../DeploymentContext.ts";
import { formatAmount, formatTokens, shortAddress, statusText } from "../format.ts";
import { Pager } from "../Pager.tsx";
import type { HostSessionRow } from "./sessionRows.ts";

/**
 * One page of the host's sessions, newest first, with buttons to the newer and older pages. Per
 * session the tokens the node served, the session key signed, the chain proved, and the unsigned
 * exposure: tokens served without a receipt yet, and what they would cost the user.
 */
export function HostSessions(props: { sessions: HostSessionRow[]; sessionCount: number; page: number; onPage: (page: number) => void }) {
  return (
    <section className="card">
      <h3>Sessions</h3>
      {props.sessionCount === 0 ? <p className="muted">None yet.</p> : <SessionTable sessions={props.sessions} testId="host-sessions" />}
      <Pager count={props.sessionCount} page={props.page} onPage={props.onPage} rangeTestId="host-sessions-range" />
    </section>
  );
}

function SessionTable(props: { sessions: HostSessionRow[]; testId: string }) {
  const deployment = useDeployment();
  const count = (value: bigint | undefined) => (value === undefined ? "–" : formatTokens(value));
  return (
    <div className="table-scroll">
      <table className="sessions-table host-sessions" data-testid={props.testId}>
        <thead>
          <tr>
            <th>Session</th>
            <th>Status</th>
            <th>User</th>
            <th>Served</th>
            <th>Signed</th>
            <th>Proven</th>
            <th>Unsigned exposure</th>
          </tr>
        </thead>
        <tbody>
          {props.sessions.map((session) => {
            const asset = assetOf(session.token, deployment);
            return (
              <tr key={String(session.jobId)} data-testid="host-session">
                <td data-label="Session">#{String(session.jobId)}</td>
                <td data-label="Status">
                  <span className={`status ${session.status}`}>{statusText(session.status)}</span>
                </td>
                <td data-label="User" className="mono" title={session.depositor}>
                  {shortAddress(session.depositor)}
                </td>
                <td data-label="Served" data-testid="host-session-served">
                  {count(session.served)}
                </td>
                <td data-label="Signed">{count(session.signed)}</td>
                <td data-label="Proven" data-testid="host-session-proven">
                  {formatTokens(session.provenTokens)}
                </td>
                <td data-label="Unsigned exposure">
                  {count(session.unsigned)}
                  {session.unsigned !== undefined && session.unsigned > 0n && (
                    <small className="muted"> · {formatAmount(session.unsigned * session.pricePerToken, asset)}</small>
                  )}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
