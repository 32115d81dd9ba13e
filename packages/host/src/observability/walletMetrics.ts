import { Counter, Gauge } from "prom-client";
import { zeroAddress, type Address, type PublicClient } from "viem";
import { hostEarningsAbi, jobMarketplaceWithModelsAbi } from "@session-jobs/contracts/abis";
import type { Common } from "../common.ts";

export type RegisterWalletMetricsParameters = {
  common: Common;
  publicClient: PublicClient;
  host: Address;
  marketplace: Address;
  /** The HostEarnings contract; read from the marketplace when not given. */
  hostEarnings: Address | undefined;
};

/**
 * Gauges of the host's money, read from chain when Prometheus scrapes: the wallet's gas balance
 * (it pays for every proof) and its HostEarnings balance per accepted asset (ETH is the zero
 * address). A failed read keeps the last values and counts the failure, so a scrape never fails.
 */
export function registerWalletMetrics(parameters: RegisterWalletMetricsParameters): void {
  const { common, publicClient, host, marketplace } = parameters;
  const registers = [common.metrics.registry];
  for (const name of ["session_jobs_host_gas_balance_wei", "session_jobs_host_earnings_balance", "session_jobs_balance_read_failures_total"])
    common.metrics.registry.removeSingleMetric(name); // a node started again on the same `common`
  // One read of chain per scrape, shared by the three series (prom-client collects them together).
  let reading: Promise<void> | undefined;
  const read = () => (reading ??= readBalances().finally(() => (reading = undefined)));
  const collect = { collect: () => read() };
  const gas = new Gauge({
    name: "session_jobs_host_gas_balance_wei",
    help: "The host wallet's native balance, which pays for proof transactions (wei).",
    registers,
    ...collect,
  });
  const earnings = new Gauge({
    name: "session_jobs_host_earnings_balance",
    help: "The host's withdrawable balance in HostEarnings, by asset address (zero = ETH), in the asset's base units.",
    labelNames: ["asset"],
    registers,
    ...collect,
  });
  const failures = new Counter({
    name: "session_jobs_balance_read_failures_total",
    help: "Balance reads from chain that failed at a scrape (last values kept).",
    registers,
    ...collect,
  });
  let hostEarnings = parameters.hostEarnings;
  const guarded = async (task: () => Promise<void>) => {
    try {
      await task();
    } catch (error) {
      failures.inc();
      common.logger.debug("balance read for /metrics failed", { error });
    }
  };
  async function readBalances(): Promise<void> {
    await Promise.all([
      guarded(async () => gas.set(Number(await publicClient.getBalance({ address: host })))),
      guarded(async () => {
        hostEarnings ??= await publicClient.readContract({ address: marketplace, abi: jobMarketplaceWithModelsAbi, functionName: "hostEarnings" });
        const tokens = [
          zeroAddress,
          ...(await publicClient.readContract({ address: marketplace, abi: jobMarketplaceWithModelsAbi, functionName: "getAcceptedTokens" })),
        ];
        const balances = await publicClient.readContract({ address: hostEarnings, abi: hostEarningsAbi, functionName: "getBalances", args: [host, tokens] });
        tokens.forEach((token, index) => earnings.set({ asset: token.toLowerCase() }, Number(balances[index])));
      }),
    ]);
  }
}
