import { readStoreSessionTokens } from "@session-jobs/host";
import { getSession } from "@session-jobs/sdk";
import type { Address } from "viem";
import type { Command } from "../command.ts";
import { assetDisplay, formatAmount, table } from "../format.ts";
import { connectHostEarnings, hostEarningsOptions } from "../hostEarningsContext.ts";

/** The host's 90% of `tokens × price` (the contract's split: the fee is rounded down, the host gets the rest). */
const hostShare = (tokens: bigint, price: bigint) => {
  const payment = tokens * price;
  return payment - payment / 10n;
};

type TokenTotals = { provenTokens: bigint; signedUnprovenTokens: bigint; unsignedTokens: bigint; proven: bigint; signedUnproven: bigint; unsigned: bigint };

export const hostEarningsCommand: Command = {
  path: ["host", "earnings"],
  summary: "show what the host has earned: withdrawable balances, and tokens of open sessions proven, signed but unproven, and unsigned",
  options: hostEarningsOptions,
  async run(common, values) {
    const { config, connection, assets, usdc, balances } = await connectHostEarnings(common, values);
    const host = config.account.address;
    const marketplace = config.contracts.jobMarketplace;

    // The node's database says what was served and signed for; the chain says what is proven.
    const counts = await readStoreSessionTokens(config.store);
    const onChain = await Promise.all(counts.map((entry) => getSession(connection.publicClient, { marketplace, jobId: entry.jobId })));
    const sessions = counts
      .map((entry, index) => ({ entry, session: onChain[index]! }))
      .filter(({ session }) => session.status === "active" && session.host.toLowerCase() === host.toLowerCase())
      .map(({ entry, session }) => {
        const served = BigInt(entry.servedTokens);
        const signed = BigInt(entry.signedTokens);
        const proven = session.provenTokens;
        return {
          jobId: entry.jobId,
          token: session.token,
          pricePerToken: session.pricePerToken,
          servedTokens: served,
          signedTokens: signed,
          provenTokens: proven,
          signedUnprovenTokens: signed > proven ? signed - proven : 0n,
          unsignedTokens: served > signed ? served - signed : 0n,
        };
      });
    const totals = new Map<Address, TokenTotals>();
    for (const session of sessions) {
      const total = totals.get(session.token) ?? {
        provenTokens: 0n,
        signedUnprovenTokens: 0n,
        unsignedTokens: 0n,
        proven: 0n,
        signedUnproven: 0n,
        unsigned: 0n,
      };
      total.provenTokens += session.provenTokens;
      total.signedUnprovenTokens += session.signedUnprovenTokens;
      total.unsignedTokens += session.unsignedTokens;
      total.proven += hostShare(session.provenTokens, session.pricePerToken);
      total.signedUnproven += hostShare(session.signedUnprovenTokens, session.pricePerToken);
      total.unsigned += hostShare(session.unsignedTokens, session.pricePerToken);
      totals.set(session.token, total);
    }

    common.logger.result({
      host,
      withdrawable: assets.map((token, index) => ({ token, amount: balances[index]! })),
      openSessions: sessions,
      openSessionTotals: [...totals].map(([token, total]) => ({ token, ...total })),
    });
    common.logger.info(`earnings of host ${host}`);
    common.logger.info("\nwithdrawable now (HostEarnings, `host withdraw`):");
    common.logger.info(
      table([
        ["asset", "balance"],
        ...assets.map((asset, index) => [assetDisplay(asset, usdc).symbol, formatAmount(balances[index]!, assetDisplay(asset, usdc))]),
      ]),
    );
    if (sessions.length === 0) {
      common.logger.info("\nno open sessions in the node's database");
      return;
    }
    common.logger.info(`\n${sessions.length} open session${sessions.length === 1 ? "" : "s"} (tokens; the host's 90% is credited when a session settles):`);
    common.logger.info(
      table([
        ["job", "asset", "served", "proven", "signed, unproven", "unsigned"],
        ...sessions.map((session) => [
          session.jobId.toString(),
          assetDisplay(session.token, usdc).symbol,
          session.servedTokens.toString(),
          session.provenTokens.toString(),
          session.signedUnprovenTokens.toString(),
          session.unsignedTokens.toString(),
        ]),
      ]),
    );
    common.logger.info(
      table([
        ["host's 90% by state", "proven (paid at settlement)", "signed, unproven (the node proves it)", "unsigned (not yet signed by the client)"],
        ...[...totals].map(([token, total]) => {
          const display = assetDisplay(token, usdc);
          return [display.symbol, formatAmount(total.proven, display), formatAmount(total.signedUnproven, display), formatAmount(total.unsigned, display)];
        }),
      ]),
    );
  },
};
