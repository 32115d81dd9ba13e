import { describe, expect, it } from "vitest";
import { eth, formatAmount, formatPrice, parsePricePer1k, usdcAsset } from "./format.ts";

const usdc = usdcAsset("0x0000000000000000000000000000000000000001");

describe("format", () => {
  it("shows prices per 1k tokens in human units and parses them back exactly", () => {
    expect(formatPrice(1500n, usdc)).toBe("1.5 USDC per 1k tokens");
    expect(formatPrice(10_000_000_000n, eth)).toBe("0.00001 ETH per 1k tokens");
    expect(parsePricePer1k("1.5", usdc)).toBe(1500n);
    expect(parsePricePer1k("0.00001", eth)).toBe(10_000_000_000n);
    expect(parsePricePer1k("abc", usdc)).toBeUndefined();
    expect(formatAmount(1_107_000n, usdc)).toBe("1.107 USDC");
    expect(formatAmount(0n, usdc)).toBe("0 USDC");
  });
});
