import { hostEarningsAbi, nodeRegistryWithModelsAbi } from "@session-jobs/sdk";
import { useMutation } from "@tanstack/react-query";
import { useState } from "react";
import { useWriteContract, usePublicClient } from "wagmi";
import { useDeployment } from "../DeploymentContext.ts";
import { describeError } from "../errors.ts";
import { eth, formatAmount, parsePricePer1k, type Asset } from "../format.ts";
import type { HostDashboardData } from "./useHostDashboard.ts";

/**
 * What only the host's own wallet may do: change its minimum prices and withdraw its earnings.
 * The wallet signs; the node's key never comes near the page.
 */
export function HostControls(props: { data: HostDashboardData; onDone: () => void }) {
  const deployment = useDeployment();
  const client = usePublicClient();
  const { writeContractAsync } = useWriteContract();
  const usdc = props.data.earnings.find((earning) => earning.asset.symbol === "USDC")?.asset;
  const [stableText, setStableText] = useState("");
  const [nativeText, setNativeText] = useState("");
  const send = useMutation({
    mutationFn: async (write: () => Promise<`0x${string}`>) => {
      await client!.waitForTransactionReceipt({ hash: await write() });
    },
    onSuccess: props.onDone,
  });
  const updatePrice = (asset: Asset, text: string) => {
    const price = parsePricePer1k(text, asset);
    if (price === undefined) return;
    send.mutate(() =>
      writeContractAsync({
        address: deployment.nodeRegistry,
        abi: nodeRegistryWithModelsAbi,
        functionName: asset === eth ? "updatePricingNative" : "updatePricing",
        args: [price],
      }),
    );
  };

  return (
    <section className="card">
      <h3>Your host</h3>
      <div className="row">
        {usdc && (
          <form className="field" onSubmit={(event) => (event.preventDefault(), updatePrice(usdc, stableText))}>
            <label htmlFor="stable-price">Minimum price (USDC per 1k tokens)</label>
            <input id="stable-price" inputMode="decimal" placeholder={formatAmount(props.data.info.minPricePerToken * 1000n, usdc).split(" ")[0]} value={stableText} onChange={(event) => setStableText(event.target.value)} />
            <button className="secondary" disabled={send.isPending}>
              Update USDC price
            </button>
          </form>
        )}
        <form className="field" onSubmit={(event) => (event.preventDefault(), updatePrice(eth, nativeText))}>
          <label htmlFor="native-price">Minimum price (ETH per 1k tokens)</label>
          <input id="native-price" inputMode="decimal" placeholder={formatAmount(props.data.info.minPricePerTokenNative * 1000n, eth, 18).split(" ")[0]} value={nativeText} onChange={(event) => setNativeText(event.target.value)} />
          <button className="secondary" disabled={send.isPending}>
            Update ETH price
          </button>
        </form>
      </div>
      <div className="actions">
        {props.data.earnings
          .filter((earning) => earning.amount > 0n)
          .map((earning) => (
            <button
              key={earning.asset.symbol}
              className="primary"
              disabled={send.isPending}
              onClick={() => send.mutate(() => writeContractAsync({ address: deployment.hostEarnings, abi: hostEarningsAbi, functionName: "withdrawAll", args: [earning.asset.token] }))}
            >
              Withdraw {formatAmount(earning.amount, earning.asset)}
            </button>
          ))}
      </div>
      {send.error && (
        <p className="error" role="alert">
          {describeError(send.error)}
        </p>
      )}
    </section>
  );
}
