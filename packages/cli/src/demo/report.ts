import { zeroAddress, type Address, type PublicClient } from "viem";
import { hostEarningsAbi, jobMarketplaceWithModelsAbi } from "@session-jobs/contracts/abis";
import type { Common } from "../common.ts";
import type { GasLedger } from "../gasLedger.ts";
import { formatAmount, table, type AssetDisplay } from "../format.ts";
import type { LocalNetwork } from "./localNetwork.ts";
import type { ConversationResult } from "./conversation.ts";

/** Balances read back from chain after settlement, so the printed split is what the contracts hold. */
async function readOnChainSplit(client: PublicClient, network: LocalNetwork, host: Address, token: Address) {
  const [hostBalance, treasuryBalance] = await Promise.all([
    client.readContract({ address: network.deployment.hostEarnings, abi: hostEarningsAbi, functionName: "getBalance", args: [host, token] }),
    token === zeroAddress
      ? client.readContract({ address: network.deployment.jobMarketplace, abi: jobMarketplaceWithModelsAbi, functionName: "accumulatedTreasuryETH" })
      : client.readContract({
          address: network.deployment.jobMarketplace,
          abi: jobMarketplaceWithModelsAbi,
          functionName: "accumulatedTreasuryTokens",
          args: [token],
        }),
  ]);
  return { hostBalance, treasuryBalance };
}

/** Prints the settlement (with an exactness check against chain state) and the gas of every transaction. */
export async function printReport(common: Common, parameters: { network: LocalNetwork; result: ConversationResult; asset: AssetDisplay; ledger: GasLedger }) {
  const { network, result, asset, ledger } = parameters;
  const { settlement, session } = result;
  const { logger } = common;
  const onChain = await readOnChainSplit(network.publicClient, network, session.host, session.token);

  logger.info("\nSettlement");
  logger.info(
    table([
      ["tokens served and signed for", `${session.cumulativeTokens}`],
      ["tokens proven on chain", `${settlement.provenTokens}`],
      ["payment = proven × price", formatAmount(settlement.payment, asset)],
      ["host, 90% (credited in HostEarnings)", formatAmount(settlement.hostEarnings, asset)],
      ["treasury, 10%", formatAmount(settlement.treasuryFee, asset)],
      ["refund to the user", formatAmount(settlement.refund, asset)],
      ["closed by", settlement.closedBy],
    ]),
  );
  const exact =
    settlement.payment === settlement.provenTokens * session.pricePerToken &&
    settlement.hostEarnings + settlement.treasuryFee === settlement.payment &&
    settlement.payment + settlement.refund === session.deposit &&
    onChain.hostBalance === settlement.hostEarnings &&
    onChain.treasuryBalance === settlement.treasuryFee;
  logger.info(
    exact
      ? "✔ exact: payment + refund = deposit, host + treasury = payment, and HostEarnings / treasury balances on chain match"
      : `✖ MISMATCH: on chain host ${onChain.hostBalance}, treasury ${onChain.treasuryBalance}`,
  );

  const entries = await ledger.resolve(network.publicClient);
  logger.info("\nTransactions and gas");
  logger.info(table([["transaction", "sent by", "gas used"], ...entries.map((entry) => [entry.label, entry.payer, entry.gasUsed.toString()])]));
  const userSigned = entries.filter((entry) => entry.payer === "user").length;
  const checkpoints = entries.filter((entry) => entry.label.startsWith("checkpoint proof")).length;
  logger.info(
    `\nThe user's wallet signed ${userSigned} transaction${userSigned === 1 ? "" : "s"}; every request and receipt was signed by the session key. ` +
      `${checkpoints} checkpoint proof${checkpoints === 1 ? "" : "s"} landed during the conversation, the last receipt at close.`,
  );
  logger.info("A checkpoint proves the payer's consent to pay for N tokens of a given transcript, not that a model ran.");
  if (!exact) throw new Error("settlement does not match the chain");
}
