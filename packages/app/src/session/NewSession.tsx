import { openSession, type HostInfo, type Session } from "@session-jobs/sdk";
import { useMutation, useQuery } from "@tanstack/react-query";
import { useEffect, useMemo, useState } from "react";
import { zeroAddress, type Hex } from "viem";
import { useAccount, usePublicClient, useWalletClient } from "wagmi";
import { marketplaceAbi } from "@session-jobs/sdk";
import { useAssets, useDeployment } from "../DeploymentContext.ts";
import { isLocalDevChain } from "../deployment.ts";
import { describeError } from "../errors.ts";
import { formatAmount, formatPrice, formatTokens, parseAmount, parsePricePer1k, type Asset } from "../format.ts";
import { HostList } from "../hosts/HostList.tsx";
import { defaultCheckpointInterval, largestCheckpointInterval, preferredCheckpointInterval } from "../hosts/terms.ts";
import { useChosenHostPolicy, useHosts } from "../hosts/useHosts.ts";
import { useModels } from "../hosts/useModels.ts";

const defaultDeposit: Record<string, string> = { ETH: "0.01", USDC: "5" };

/** Choose a model, a host, the asset, price and deposit; open the session with one wallet prompt. */
export function NewSession(props: { onOpened: (session: Session) => void }) {
  const deployment = useDeployment();
  const assets = useAssets();
  const { isConnected } = useAccount();
  const { data: walletClient } = useWalletClient();
  const client = usePublicClient();
  const models = useModels();
  const [modelId, setModelId] = useState<Hex | undefined>();
  const [asset, setAsset] = useState<Asset>(assets[0]!);
  const hosts = useHosts(modelId, asset.token);
  const [hostAddress, setHostAddress] = useState<string | undefined>();
  const [priceText, setPriceText] = useState("");
  const [depositText, setDepositText] = useState(defaultDeposit[asset.symbol]!);
  const [intervalText, setIntervalText] = useState("");

  useEffect(() => {
    if (!modelId && models.data?.[0]) setModelId(models.data[0].id);
  }, [models.data, modelId]);
  const host: HostInfo | undefined = hosts.data?.find((candidate) => candidate.address === hostAddress) ?? hosts.data?.[0];
  const minimum = host ? (asset.token === zeroAddress ? host.minPricePerTokenNative : host.minPricePerToken) : undefined;
  useEffect(() => {
    if (minimum !== undefined) setPriceText(formatAmount(minimum * 1000n, asset, 18).split(" ")[0]!);
  }, [minimum, asset]);
  const policy = useChosenHostPolicy(host?.apiUrl);
  // The node's own limits can be tighter than its on-chain terms, and a session it refuses has its
  // deposit in escrow already: Open waits until they are known. A host whose policy read fails is
  // held to its on-chain terms, as before.
  const readingTerms = host !== undefined && policy.isPending;
  const largestInterval = host ? largestCheckpointInterval(host, policy.data) : undefined;
  // Like the price, the interval starts at one this host accepts whenever its terms change.
  useEffect(() => {
    if (largestInterval !== undefined)
      setIntervalText(String(defaultCheckpointInterval(preferredCheckpointInterval(isLocalDevChain(deployment)), largestInterval)));
  }, [largestInterval, deployment]);

  const assetTerms = useQuery({
    queryKey: ["asset-config", deployment.jobMarketplace, asset.token],
    enabled: Boolean(client),
    queryFn: () => client!.readContract({ address: deployment.jobMarketplace, abi: marketplaceAbi, functionName: "getAssetConfig", args: [asset.token] }),
  });

  const price = parsePricePer1k(priceText, asset);
  const deposit = parseAmount(depositText, asset);
  const interval = /^\d+$/.test(intervalText) ? BigInt(intervalText) : undefined;
  const estimate = useMemo(() => (price && deposit ? deposit / price : undefined), [price, deposit]);

  const open = useMutation({
    mutationFn: async () => {
      if (!walletClient || !host || price === undefined || deposit === undefined || interval === undefined) throw new Error("Fill in every field first.");
      const { session } = await openSession(walletClient, {
        contracts: deployment,
        host: host.address,
        deposit,
        token: asset.token === zeroAddress ? undefined : asset.token,
        pricePerToken: price,
        proofInterval: interval,
        modelId,
      });
      return session;
    },
    onSuccess: props.onOpened,
  });
  // An error is about what was sent: it goes once the user changes what they send.
  const { reset } = open;
  useEffect(reset, [reset, priceText, depositText, intervalText, host?.address, asset]);

  const problem =
    price === undefined
      ? "Enter a price per 1k tokens."
      : deposit === undefined
        ? "Enter a deposit."
        : interval === undefined || interval < 100n
          ? "Checkpoints come every 100 tokens or more."
          : largestInterval !== undefined && interval > largestInterval
            ? `This host takes a checkpoint every ${formatTokens(largestInterval)} tokens at most.`
            : host && deposit < host.minDeposit
              ? `This host's minimum deposit is ${formatAmount(host.minDeposit, asset)}.`
              : undefined;

  return (
    <section className="card new-session">
      <h2>Start a session</h2>
      <div className="field">
        <label htmlFor="model">Model</label>
        <select id="model" value={modelId ?? ""} onChange={(event) => setModelId(event.target.value as Hex)}>
          {models.isLoading && <option>Loading models…</option>}
          {models.data?.map((model) => (
            <option key={model.id} value={model.id}>
              {model.name}
            </option>
          ))}
        </select>
      </div>

      <div className="field">
        <span className="label">Pay in</span>
        <div className="segmented" role="radiogroup">
          {assets.map((candidate) => (
            <button
              key={candidate.symbol}
              type="button"
              role="radio"
              aria-checked={candidate.symbol === asset.symbol}
              className={candidate.symbol === asset.symbol ? "active" : ""}
              onClick={() => {
                setAsset(candidate);
                setDepositText(defaultDeposit[candidate.symbol]!);
              }}
            >
              {candidate.symbol}
            </button>
          ))}
        </div>
      </div>

      <div className="field">
        <span className="label">Host</span>
        {hosts.isLoading && <p className="muted">Looking up hosts…</p>}
        {hosts.data?.length === 0 && <p className="muted">No host serves this model right now.</p>}
        {hosts.data && <HostList hosts={hosts.data} asset={asset} selected={host?.address} onSelect={setHostAddress} />}
      </div>

      <div className="row">
        <div className="field">
          <label htmlFor="price">Your price ({asset.symbol} per 1k tokens)</label>
          <input id="price" inputMode="decimal" value={priceText} onChange={(event) => setPriceText(event.target.value)} />
        </div>
        <div className="field">
          <label htmlFor="deposit">Deposit ({asset.symbol})</label>
          <input id="deposit" inputMode="decimal" value={depositText} onChange={(event) => setDepositText(event.target.value)} />
        </div>
        <div className="field">
          <label htmlFor="interval">Checkpoint every (tokens)</label>
          <input
            id="interval"
            inputMode="numeric"
            aria-invalid={largestInterval !== undefined && interval !== undefined && interval > largestInterval}
            value={intervalText}
            onChange={(event) => setIntervalText(event.target.value)}
          />
        </div>
      </div>
      <p className="hint" data-testid="estimate">
        {estimate !== undefined ? `This deposit buys about ${formatTokens(estimate)} tokens at ${formatPrice(price!, asset)}. ` : ""}
        {assetTerms.data ? `Smallest deposit: ${formatAmount(assetTerms.data.minDeposit, asset)}. ` : ""}
        {largestInterval !== undefined ? `This host checkpoints every ${formatTokens(largestInterval)} tokens at most. ` : ""}
        {host && host.minDeposit > 0n ? `This host's minimum deposit is ${formatAmount(host.minDeposit, asset)}. ` : ""}
        What you do not use is refunded when the session closes.
      </p>
      {open.error && (
        <p className="error" role="alert">
          {describeError(open.error, { asset, hostMinimum: minimum })}
        </p>
      )}
      <button className="primary" disabled={!isConnected || !host || readingTerms || problem !== undefined || open.isPending} onClick={() => open.mutate()}>
        {open.isPending
          ? "Waiting for your wallet…"
          : !isConnected
            ? "Connect a wallet to start"
            : readingTerms
              ? "Reading this host's terms…"
              : (problem ?? `Open session with ${depositText} ${asset.symbol}`)}
      </button>
      <p className="hint">
        {asset.token === zeroAddress
          ? "One wallet prompt: the deposit transaction."
          : "A USDC permit signature and the opening transaction, no separate approve."}{" "}
        A fresh session key is made in this browser and signs every receipt after that, without more prompts.
      </p>
    </section>
  );
}
