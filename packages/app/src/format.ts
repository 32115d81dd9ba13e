import { formatUnits, parseUnits, zeroAddress, type Address } from "viem";

/** A payment asset as the page shows it. */
export type Asset = { token: Address; symbol: string; decimals: number };

export const eth: Asset = { token: zeroAddress, symbol: "ETH", decimals: 18 };
export const usdcAsset = (token: Address): Asset => ({ token, symbol: "USDC", decimals: 6 });

/** `1234567n` base units of USDC → "1.234567 USDC"; trims to at most `digits` significant decimals. */
export function formatAmount(value: bigint, asset: Asset, digits = 6): string {
  const [whole, fraction = ""] = formatUnits(value, asset.decimals).split(".");
  const kept = fraction.slice(0, Math.max(digits, fraction.search(/[1-9]/) + 3)).replace(/0+$/, "");
  return `${whole}${kept ? `.${kept}` : ""} ${asset.symbol}`;
}

/** A per-token price in base units, shown per 1k tokens: "1.5 USDC per 1k tokens". */
export function formatPrice(pricePerToken: bigint, asset: Asset): string {
  return `${formatAmount(pricePerToken * 1000n, asset)} per 1k tokens`;
}

/** Parses a price typed per 1k tokens into base units per token; undefined when not exact. */
export function parsePricePer1k(text: string, asset: Asset): bigint | undefined {
  try {
    return parseUnits(text.trim(), asset.decimals - 3);
  } catch {
    return undefined;
  }
}

export function parseAmount(text: string, asset: Asset): bigint | undefined {
  try {
    const value = parseUnits(text.trim(), asset.decimals);
    return value > 0n ? value : undefined;
  } catch {
    return undefined;
  }
}

export const shortAddress = (address: string) => `${address.slice(0, 6)}…${address.slice(-4)}`;
export const shortHash = (hash: string) => `${hash.slice(0, 10)}…${hash.slice(-6)}`;
export const formatTokens = (tokens: bigint | number) => Number(tokens).toLocaleString("en-US");

/** A session status as words: "timedOut" → "timed out". */
export const statusText = (status: string) => status.replace(/([A-Z])/g, " $1").toLowerCase();
