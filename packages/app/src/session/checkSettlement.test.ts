import type { Settlement } from "@session-jobs/sdk";
import { describe, expect, it } from "vitest";
import { checkSettlement } from "./checkSettlement.ts";

const address = (n: number) => `0x${n.toString(16).padStart(40, "0")}`;

describe("checkSettlement", () => {
  const session = { provenTokens: 738n, pricePerToken: 1500n, depositAmount: 5_000_000n };
  const settlement: Settlement = {
    jobId: 1n,
    completedBy: address(9) as `0x${string}`,
    provenTokens: 738n,
    payment: 1_107_000n,
    treasuryFee: 110_700n,
    hostEarnings: 996_300n,
    refund: 3_893_000n,
    transactionHash: `0x${"11".repeat(32)}`,
    blockNumber: 16n,
  };

  it("passes a settlement that follows the contract's arithmetic", () => {
    expect(checkSettlement(settlement, session, settlement).every((check) => check.ok)).toBe(true);
  });

  it("flags each field that does not", () => {
    for (const field of ["payment", "treasuryFee", "hostEarnings", "refund", "provenTokens"] as const) {
      const wrong = { ...settlement, [field]: settlement[field] + 1n };
      expect(checkSettlement(wrong, session).some((check) => !check.ok)).toBe(true);
      expect(checkSettlement(settlement, session, wrong).some((check) => !check.ok)).toBe(true);
    }
  });
});
