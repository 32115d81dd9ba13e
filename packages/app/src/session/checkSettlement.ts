import type { OnChainSession, Settlement } from "@session-jobs/sdk";

export type SettlementCheck = { label: string; ok: boolean };

/** The marketplace's treasury fee: 10% (`TREASURY_FEE_BPS` = 1000 of 10,000). */
export const treasuryFeeBps = 1000n;

/**
 * Checks the settlement event against the session as the chain holds it: payment = proven tokens
 * × price, fee = 10% of it rounded down, host share = payment − fee, refund = deposit − payment;
 * and, when given, that it equals what closing reported.
 */
export function checkSettlement(
  settlement: Settlement,
  session: Pick<OnChainSession, "provenTokens" | "pricePerToken" | "depositAmount">,
  reported?: Settlement,
): SettlementCheck[] {
  const payment = session.provenTokens * session.pricePerToken;
  const fee = (payment * treasuryFeeBps) / 10_000n;
  const checks = [
    { label: "Proven tokens match the session on chain", ok: settlement.provenTokens === session.provenTokens },
    { label: "Payment = proven tokens × price", ok: settlement.payment === payment },
    { label: "Treasury fee = 10% of the payment", ok: settlement.treasuryFee === fee },
    { label: "Host share = payment − fee (90%)", ok: settlement.hostEarnings === payment - fee },
    { label: "Refund = deposit − payment", ok: settlement.refund === session.depositAmount - payment },
  ];
  if (reported)
    checks.push({
      label: "Same numbers as the close transaction reported",
      ok: (["provenTokens", "payment", "treasuryFee", "hostEarnings", "refund"] as const).every((field) => reported[field] === settlement[field]),
    });
  return checks;
}
