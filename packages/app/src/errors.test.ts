import { CheckpointIntervalAboveHostMaxError, DepositBelowHostMinimumError, PriceBelowHostMinimumError, SessionCloseInProgressError } from "@session-jobs/sdk";
import { UserRejectedRequestError } from "viem";
import { describe, expect, it } from "vitest";
import { describeError } from "./errors.ts";
import { eth, usdcAsset } from "./format.ts";

const usdc = usdcAsset("0x0000000000000000000000000000000000000001");

describe("describeError", () => {
  it("says the host's minimum in human units, and handles wallet rejections", () => {
    expect(describeError(new PriceBelowHostMinimumError({ pricePerToken: 1000n, minimum: 1500n }), { asset: usdc, hostMinimum: 1500n })).toBe(
      "The host's minimum is 1.5 USDC per 1k tokens; raise your price.",
    );
    expect(describeError(new Error("wrapped", { cause: new UserRejectedRequestError(new Error("User rejected the request.")) }))).toBe(
      "You declined the request in your wallet; nothing was sent.",
    );
    expect(describeError({ code: 4001, message: "denied" })).toBe("You declined the request in your wallet; nothing was sent.");
  });

  it("says the host's largest checkpoint interval, also when the error is wrapped", () => {
    const error = new CheckpointIntervalAboveHostMaxError({ proofInterval: 5000n, hostMax: 1000n });
    const sentence = "This host takes a checkpoint every 1,000 tokens at most; lower the checkpoint interval.";
    expect(describeError(error)).toBe(sentence);
    expect(describeError(new Error("openSession failed", { cause: error }))).toBe(sentence);
  });

  it("says the host's minimum deposit in the asset's units, also when the error is wrapped", () => {
    const error = new DepositBelowHostMinimumError({ deposit: 500_000n, minimum: 1_000_000n });
    const sentence = "This host's minimum deposit is 1 USDC; raise your deposit.";
    expect(describeError(error, { asset: usdc })).toBe(sentence);
    expect(describeError(new Error("openSession failed", { cause: error }), { asset: usdc })).toBe(sentence);
    expect(describeError(new DepositBelowHostMinimumError({ deposit: 1n, minimum: 2_500_000_000_000_000n }), { asset: eth })).toBe(
      "This host's minimum deposit is 0.0025 ETH; raise your deposit.",
    );
    expect(describeError(error)).toBe("Your deposit is below this host's minimum; raise your deposit.");
  });

  it("never shows a hex blob or a second line", () => {
    const text = describeError(new Error(`execution reverted: 0x${"ab".repeat(100)}\n    at foo (bar.js:1:1)`));
    expect(text).not.toMatch(/0x[0-9a-f]{66}/);
    expect(text).not.toContain("\n");
  });

  it("says a close already under way settles by itself, and what to do (the way out too), in one sentence", () => {
    expect(describeError(new SessionCloseInProgressError({ jobId: 7n, waitedMs: 60_000 }))).toBe(
      "This session is already being closed (another tab or a retried close) and has not settled yet; it settles by itself — try closing again in a minute, or settle on chain without the host.",
    );
  });
});
