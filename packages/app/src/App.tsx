import { useState, type ReactNode } from "react";
import { useDeployment } from "./DeploymentContext.ts";
import { HostDashboard } from "./hostDashboard/HostDashboard.tsx";
import { MySessions } from "./sessions/MySessions.tsx";
import { ActiveSession } from "./session/ActiveSession.tsx";
import { NewSession } from "./session/NewSession.tsx";
import { useStoredSession } from "./session/useStoredSession.ts";
import { WalletButton } from "./wallet/WalletButton.tsx";

type Tab = "chat" | "sessions" | "host";

export function App() {
  const deployment = useDeployment();
  const [tab, setTab] = useState<Tab>("chat");
  const current = useStoredSession();

  // Served by a host node as its dashboard: that host's page, nothing else.
  if (deployment.host)
    return (
      <div className="app">
        <TopBar suffix="Host" />
        <main>
          <HostDashboard host={deployment.host} />
        </main>
      </div>
    );

  return (
    <div className="app">
      <TopBar>
        <nav>
          <button className={tab === "chat" ? "active" : ""} onClick={() => setTab("chat")}>
            Chat
          </button>
          <button className={tab === "sessions" ? "active" : ""} onClick={() => setTab("sessions")}>
            My sessions
          </button>
          <button className={tab === "host" ? "active" : ""} onClick={() => setTab("host")}>
            Host
          </button>
        </nav>
      </TopBar>
      <main>
        {tab === "host" ? (
          <HostDashboard />
        ) : tab === "sessions" ? (
          <MySessions onResume={(id) => void current.resume(id).then(() => setTab("chat"))} />
        ) : !current.loaded ? (
          <p className="loading" role="status">
            Loading your session…
          </p>
        ) : current.record ? (
          <ActiveSession record={current.record} persist={current.persist} refresh={current.refresh} onNew={() => void current.select(undefined)} />
        ) : (
          <NewSession onOpened={(session) => void current.select({ session, lines: [], closed: false })} />
        )}
      </main>
      <footer>
        Payments go through an on-chain escrow; each receipt is signed by a session key kept in this browser. Proofs are receipts the session key signed, not
        proofs that a model ran.
      </footer>
    </div>
  );
}

/** The bar on top: the brand (with `suffix`), `children` (the tabs), the chain, the wallet. */
function TopBar(props: { suffix?: string; children?: ReactNode }) {
  const deployment = useDeployment();
  return (
    <header className="topbar">
      <div className="brand">
        <span className="logo" aria-hidden>
          ◆
        </span>
        Session Jobs{props.suffix && <span className="brand-suffix">{props.suffix}</span>}
      </div>
      {props.children}
      <span className="chain" title={deployment.rpcUrl}>
        {deployment.chainName}
      </span>
      <WalletButton />
    </header>
  );
}
