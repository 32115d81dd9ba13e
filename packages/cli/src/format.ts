import { formatUnits, zeroAddress, type Address } from "viem";
import type { Settlement } from "@session-jobs/sdk";

/** How an asset's amounts are shown: ETH with 18 decimals, USDC with 6. */
export type AssetDisplay = { symbol: string; decimals: number };

export function assetDisplay(token: Address, usdc: Address | undefined): AssetDisplay {
  if (token === zeroAddress) return { symbol: "ETH", decimals: 18 };
  if (usdc && token.toLowerCase() === usdc.toLowerCase()) return { symbol: "USDC", decimals: 6 };
  return { symbol: `token ${token}`, decimals: 0 };
}

export function formatAmount(amount: bigint, asset: AssetDisplay): string {
  return `${formatUnits(amount, asset.decimals)} ${asset.symbol}`;
}

/** Renders rows as aligned columns (first column left, the rest right). */
export function table(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return rows.map((row) => row.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!))).join("   ")).join("\n");
}

/** The rows every settlement shows: tokens proven and where the deposit went. */
export function settlementRows(settlement: Settlement, asset: AssetDisplay): string[][] {
  return [
    ["tokens proven on chain", settlement.provenTokens.toString()],
    ["payment", formatAmount(settlement.payment, asset)],
    ["host, 90%", formatAmount(settlement.hostEarnings, asset)],
    ["treasury, 10%", formatAmount(settlement.treasuryFee, asset)],
    ["refund", formatAmount(settlement.refund, asset)],
  ];
}

/** A time in seconds since the epoch, as an ISO-8601 UTC string without milliseconds. */
export function isoTime(seconds: bigint): string {
  return new Date(Number(seconds) * 1000).toISOString().replace(".000Z", "Z");
}
