import { formatPrice, formatTokens, parsePricePer1k, type Asset } from "../format.ts";

/** The registry's bounds (NodeRegistryWithModels): stable and native prices per token, checkpoint interval in tokens. */
export const registryBounds = {
  stablePrice: { min: 100n, max: 100_000n },
  nativePrice: { min: 1_000_000_000n, max: 10n ** 15n },
  interval: { min: 100n, max: 1_000_000n },
} as const;

/** One change the host's wallet sends to the NodeRegistry, and what the page says once it landed. */
export type HostChange = { functionName: "updatePricing" | "updatePricingNative" | "updateMaxCheckpointInterval"; value: bigint; done: string };

export type HostChangeInput = { kind: "stablePrice" | "nativePrice"; text: string; asset: Asset } | { kind: "interval"; text: string };

/**
 * Checks a value typed on the dashboard against the registry's bounds before any wallet prompt:
 * the change to send, or one sentence saying what to type instead.
 */
export function checkHostChange(input: HostChangeInput): HostChange | string {
  if (input.kind === "interval") {
    const { min, max } = registryBounds.interval;
    const value = /^\s*\d{1,9}\s*$/.test(input.text) ? BigInt(input.text.trim()) : undefined;
    if (value === undefined || value < min || value > max) return `Type a whole number of tokens from ${formatTokens(min)} to ${formatTokens(max)}.`;
    return { functionName: "updateMaxCheckpointInterval", value, done: `Sessions may now checkpoint every ${formatTokens(value)} tokens at most.` };
  }
  const { min, max } = registryBounds[input.kind];
  const value = parsePricePer1k(input.text, input.asset);
  if (value === undefined || value < min || value > max) return `Type a price from ${formatPrice(min, input.asset)} to ${formatPrice(max, input.asset)}.`;
  return {
    functionName: input.kind === "stablePrice" ? "updatePricing" : "updatePricingNative",
    value,
    done: `Your minimum is now ${formatPrice(value, input.asset)}.`,
  };
}
