import { useState } from "react";
import { useAccount, useBalance, useConnect, useConnectors, useDisconnect } from "wagmi";
import { describeError } from "../errors.ts";
import { formatAmount, eth, shortAddress } from "../format.ts";

/** Connect with any EIP-6963 wallet (or, on a local chain, the labelled dev wallet); then address and balance. */
export function WalletButton() {
  const { address, connector, isConnected } = useAccount();
  const connectors = useConnectors();
  const connect = useConnect();
  const { disconnect } = useDisconnect();
  const balance = useBalance({ address, query: { refetchInterval: 5_000 } });
  const [open, setOpen] = useState(false);
  // The generic "Injected" entry is only useful when no wallet announced itself (EIP-6963) but
  // one still put itself at window.ethereum.
  const announced = connectors.filter((candidate) => candidate.id !== "injected");
  const legacyInjected = typeof window !== "undefined" && "ethereum" in window && !announced.some((candidate) => candidate.type === "injected");
  const choices = legacyInjected ? connectors : announced;
  const noBrowserWallet = !choices.some((candidate) => candidate.type === "injected");

  if (isConnected && address)
    return (
      <div className="wallet connected">
        <span className={`wallet-name${connector?.id === "localDevWallet" ? " dev" : ""}`}>{connector?.name}</span>
        <span className="mono" title={address} data-testid="account">
          {shortAddress(address)}
        </span>
        {balance.data && <span className="muted balance">{formatAmount(balance.data.value, eth, 4)}</span>}
        <button className="link" onClick={() => disconnect()}>
          Disconnect
        </button>
      </div>
    );
  return (
    <div className="wallet">
      <button className="primary" onClick={() => setOpen(!open)} aria-expanded={open}>
        Connect wallet
      </button>
      {open && (
        <div className="wallet-menu" role="menu">
          {choices.map((candidate) => (
            <button key={candidate.uid} role="menuitem" onClick={() => connect.mutate({ connector: candidate }, { onSuccess: () => setOpen(false) })}>
              {candidate.icon && <img src={candidate.icon} alt="" width={20} height={20} />}
              <span>
                {candidate.name}
                {candidate.id === "localDevWallet" && <small> anvil test account · local chain only · not a real wallet</small>}
                {candidate.id === "injected" && <small> browser extension</small>}
              </span>
            </button>
          ))}
          {noBrowserWallet && (
            <p className="muted small menu-note">No browser wallet found. Install MetaMask, Rabby or Coinbase Wallet to use your own account.</p>
          )}
          {connect.error && <p className="error small menu-note">{describeError(connect.error)}</p>}
        </div>
      )}
    </div>
  );
}
