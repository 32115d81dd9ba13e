import type { HostInfo } from "@session-jobs/sdk";
import type { Asset } from "../format.ts";
import { formatAmount, formatPrice, formatTokens, shortAddress } from "../format.ts";
import { shownHost } from "./hostUrl.ts";
import { largestCheckpointInterval } from "./terms.ts";
import { useHostHealth, useHostPolicy } from "./useHosts.ts";

/** One host to choose: its terms (price and minimum deposit in the chosen asset, largest checkpoint interval), its URL, and whether it answers now. */
export function HostCard(props: { host: HostInfo; asset: Asset; selected: boolean; onSelect: () => void }) {
  const { host, asset } = props;
  const health = useHostHealth(host.apiUrl);
  const policy = useHostPolicy(host.apiUrl);
  const minimum = asset.token === "0x0000000000000000000000000000000000000000" ? host.minPricePerTokenNative : host.minPricePerToken;
  const status = health.data === undefined ? "checking" : health.data.ok ? "online" : "offline";
  return (
    <label className={`host-card${props.selected ? " selected" : ""}`} data-testid="host-card">
      <input type="radio" name="host" checked={props.selected} onChange={props.onSelect} />
      <div className="host-main">
        <div className="host-title">
          <span className="mono" title={host.address}>
            {shortAddress(host.address)}
          </span>
          <span className={`health ${status}`} title="GET /health">
            {status === "online" ? `online · ${health.data!.latencyMs} ms` : status}
          </span>
        </div>
        <div className="host-url" title={host.apiUrl}>
          {shownHost(host.apiUrl)}
        </div>
      </div>
      <div className="host-price">
        <strong>{formatPrice(minimum, asset)}</strong>
        <span className="muted">minimum</span>
        <span className="muted small" data-testid="host-max-interval">
          checkpoints ≤ {formatTokens(largestCheckpointInterval(host, policy.data))} tokens
        </span>
        {host.minDeposit > 0n && (
          <span className="muted small" data-testid="host-min-deposit">
            deposit ≥ {formatAmount(host.minDeposit, asset)}
          </span>
        )}
      </div>
    </label>
  );
}
