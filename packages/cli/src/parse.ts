import { isAddress, isHex, parseUnits, type Address, type Hex } from "viem";
import { CliError } from "./errors.ts";

/** A checksummed or lower-case 20-byte address, or a clear error naming the option. */
export function parseAddressOption(name: string, value: string): Address {
  if (!isAddress(value, { strict: false })) throw new CliError(`--${name}: "${value}" is not an address (0x followed by 40 hex digits)`);
  return value;
}

/** A 32-byte private key. The value itself is never echoed back. */
export function parsePrivateKeyOption(name: string, value: string): Hex {
  const key = value.startsWith("0x") ? value : `0x${value}`;
  if (!isHex(key) || key.length !== 66) throw new CliError(`--${name}: not a 32-byte hex private key`);
  return key;
}

/** A whole number ≥ `min` (and ≤ `max` if given). */
export function parseIntegerOption(name: string, value: string, bounds: { min?: bigint; max?: bigint } = {}): bigint {
  if (/^-\d+$/.test(value))
    throw new CliError(`--${name}: ${value} is negative; give a whole number${bounds.min === undefined ? "" : ` of at least ${bounds.min}`}`);
  if (!/^\d+$/.test(value)) throw new CliError(`--${name}: "${value}" is not a whole number`);
  const parsed = BigInt(value);
  if (bounds.min !== undefined && parsed < bounds.min) throw new CliError(`--${name}: ${value} is below the minimum ${bounds.min}`);
  if (bounds.max !== undefined && parsed > bounds.max) throw new CliError(`--${name}: ${value} is above the maximum ${bounds.max}`);
  return parsed;
}

/** A decimal amount of an asset with `decimals` places ("0.01" ETH → 10^16 wei). */
export function parseAmountOption(name: string, value: string, decimals: number): bigint {
  if (/^-\d/.test(value)) throw new CliError(`--${name}: ${value} is negative; give a positive amount`);
  if (!/^\d+(\.\d+)?$/.test(value)) throw new CliError(`--${name}: "${value}" is not a decimal amount`);
  const fraction = value.split(".")[1] ?? "";
  if (fraction.length > decimals) throw new CliError(`--${name}: "${value}" has more than ${decimals} decimal places`);
  return parseUnits(value, decimals);
}
