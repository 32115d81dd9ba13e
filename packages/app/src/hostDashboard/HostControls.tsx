import { hostEarningsAbi, nodeRegistryWithModelsAbi } from "@session-jobs/sdk";
import { useMutation } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { useWriteContract, usePublicClient } from "wagmi";
import { useDeployment } from "../DeploymentContext.ts";
import { describeError } from "../errors.ts";
import { eth, formatAmount, formatTokens, type Asset } from "../format.ts";
import { checkHostChange, type HostChange } from "./hostChanges.ts";
import type { HostDashboardData } from "./useHostDashboard.ts";

/**
 * What only the host's own wallet may do: change its minimum prices and its largest checkpoint
 * interval, and withdraw its earnings. The wallet signs; the node's key never comes near the page.
 */
export function HostControls(props: { data: HostDashboardData; onDone: () => void }) {
  const deployment = useDeployment();
  const client = usePublicClient();
  const { writeContractAsync } = useWriteContract();
  const { info } = props.data;
  const usdc = props.data.earnings.find((earning) => earning.asset.symbol === "USDC")?.asset;
  const [texts, setTexts] = useState({ stable: "", native: "", interval: "" });
  const [invalid, setInvalid] = useState<string | undefined>();
  const [done, setDone] = useState<string | undefined>();
  const send = useMutation({
    mutationFn: async (step: { write: () => Promise<`0x${string}`>; done: string }) => {
      const receipt = await client!.waitForTransactionReceipt({ hash: await step.write() });
      if (receipt.status !== "success") throw new Error("The transaction was reverted on chain.");
      return step.done;
    },
    onMutate: () => (setDone(undefined), setInvalid(undefined)),
    onSuccess: (message) => {
      setDone(message);
      setTexts({ stable: "", native: "", interval: "" });
      props.onDone();
    },
  });
  const submit = (field: keyof typeof texts, change: (text: string) => HostChange | string) => (event: FormEvent) => {
    event.preventDefault();
    const checked = change(texts[field]);
    if (typeof checked === "string") return setInvalid(checked);
    send.mutate({
      write: () =>
        writeContractAsync({ address: deployment.nodeRegistry, abi: nodeRegistryWithModelsAbi, functionName: checked.functionName, args: [checked.value] }),
      done: checked.done,
    });
  };
  const input = (field: keyof typeof texts, id: string, placeholder: string) => (
    <input
      id={id}
      inputMode="decimal"
      placeholder={placeholder}
      value={texts[field]}
      onChange={(event) => setTexts({ ...texts, [field]: event.target.value })}
    />
  );
  const priceNow = (value: bigint, asset: Asset) => formatAmount(value * 1000n, asset, 18).split(" ")[0]!;

  return (
    <section className="card" data-testid="host-controls">
      <h3>Your host</h3>
      <p className="hint">
        Your wallet signs each change; the chain applies it to new sessions. <code>session-jobs host register</code> sets the chain back to host.toml's{" "}
        <code>[pricing]</code> and <code>limits.maxCheckpointInterval</code>, which the node also enforces: change the file too.
      </p>
      <div className="controls-grid">
        {usdc && (
          <form className="field" onSubmit={submit("stable", (text) => checkHostChange({ kind: "stablePrice", text, asset: usdc }))}>
            <label htmlFor="stable-price">Minimum price (USDC per 1k tokens)</label>
            {input("stable", "stable-price", priceNow(info.minPricePerToken, usdc))}
            <button className="secondary" disabled={send.isPending}>
              Update USDC price
            </button>
          </form>
        )}
        <form className="field" onSubmit={submit("native", (text) => checkHostChange({ kind: "nativePrice", text, asset: eth }))}>
          <label htmlFor="native-price">Minimum price (ETH per 1k tokens)</label>
          {input("native", "native-price", priceNow(info.minPricePerTokenNative, eth))}
          <button className="secondary" disabled={send.isPending}>
            Update ETH price
          </button>
        </form>
        <form className="field" onSubmit={submit("interval", (text) => checkHostChange({ kind: "interval", text }))}>
          <label htmlFor="max-interval">Largest checkpoint interval (tokens)</label>
          {input("interval", "max-interval", formatTokens(info.maxCheckpointInterval).replace(/,/g, ""))}
          <button className="secondary" disabled={send.isPending}>
            Update terms
          </button>
        </form>
      </div>
      <div className="actions withdraw">
        {props.data.earnings
          .filter((earning) => earning.amount > 0n)
          .map((earning) => (
            <button
              key={earning.asset.symbol}
              className="primary"
              disabled={send.isPending}
              onClick={() =>
                send.mutate({
                  write: () =>
                    writeContractAsync({ address: deployment.hostEarnings, abi: hostEarningsAbi, functionName: "withdrawAll", args: [earning.asset.token] }),
                  done: `Withdrew ${formatAmount(earning.amount, earning.asset)} to your wallet.`,
                })
              }
            >
              Withdraw {formatAmount(earning.amount, earning.asset)}
            </button>
          ))}
        {props.data.earnings.every((earning) => earning.amount === 0n) && <span className="muted">Nothing to withdraw.</span>}
      </div>
      {send.isPending && (
        <p className="muted" role="status">
          Waiting for your wallet and the chain…
        </p>
      )}
      {done && (
        <p className="done" role="status" data-testid="host-control-done">
          {done}
        </p>
      )}
      {(invalid ?? send.error) && (
        <p className="error" role="alert">
          {invalid ?? describeError(send.error)}
        </p>
      )}
    </section>
  );
}
