import type { PublicClient } from "viem";
import { describe, expect, it } from "vitest";
import { createCommon } from "../common.ts";
import { registerWalletMetrics } from "./walletMetrics.ts";

describe("wallet metrics", () => {
  it("keep /metrics answering when the chain cannot be read, and count the failures", async () => {
    const common = createCommon({ logLevel: "silent", processMetrics: false });
    const unreachable = new Error("connect ECONNREFUSED");
    const publicClient = { getBalance: () => Promise.reject(unreachable), readContract: () => Promise.reject(unreachable) } as unknown as PublicClient;
    const host = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
    registerWalletMetrics({ common, publicClient, host, marketplace: host, hostEarnings: undefined });
    const text = await common.metrics.render();
    expect(text).toContain("# TYPE session_jobs_host_gas_balance_wei gauge");
    expect(text).toMatch(/^session_jobs_balance_read_failures_total 2$/m);
    registerWalletMetrics({ common, publicClient, host, marketplace: host, hostEarnings: undefined }); // a second start on the same common
    expect(await common.metrics.render()).toMatch(/^session_jobs_balance_read_failures_total 2$/m);
  });
});
