import { describe, expect, it } from "vitest";
import { eth, usdcAsset } from "../format.ts";
import { checkHostChange } from "./hostChanges.ts";

const usdc = usdcAsset("0x0000000000000000000000000000000000000001");

describe("the host's changes, checked before the wallet is asked", () => {
  it("turns a price per 1k tokens into base units per token", () => {
    expect(checkHostChange({ kind: "stablePrice", text: "2", asset: usdc })).toEqual({
      functionName: "updatePricing",
      value: 2000n,
      done: "Your minimum is now 2 USDC per 1k tokens.",
    });
    expect(checkHostChange({ kind: "nativePrice", text: "0.00002", asset: eth })).toMatchObject({
      functionName: "updatePricingNative",
      value: 20_000_000_000n,
    });
  });

  it("says the registry's range for a price outside it, or one that is not a number", () => {
    for (const text of ["0.09", "101", "abc", "", "-1", "1e3", "0.0000001"])
      expect(checkHostChange({ kind: "stablePrice", text, asset: usdc }), text).toBe("Type a price from 0.1 USDC per 1k tokens to 100 USDC per 1k tokens.");
    expect(checkHostChange({ kind: "nativePrice", text: "0.0000001", asset: eth })).toMatch(
      /^Type a price from 0\.000001 ETH per 1k tokens to 1 ETH per 1k tokens\.$/,
    );
  });

  it("takes a whole checkpoint interval within 100..1,000,000", () => {
    expect(checkHostChange({ kind: "interval", text: " 500 " })).toEqual({
      functionName: "updateMaxCheckpointInterval",
      value: 500n,
      done: "Sessions may now checkpoint every 500 tokens at most.",
    });
    for (const text of ["99", "1000001", "1.5", "1e3", "", "9999999999999"])
      expect(checkHostChange({ kind: "interval", text }), text).toBe("Type a whole number of tokens from 100 to 1,000,000.");
  });
});
