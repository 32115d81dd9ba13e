import { zeroAddress } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { testUsdcAbi } from "@session-jobs/contracts/abis";
import type { Command } from "../command.ts";
import { createGasLedger } from "../gasLedger.ts";
import { assetDisplay } from "../format.ts";
import { parseIntegerOption } from "../parse.ts";
import { CliError } from "../errors.ts";
import { demoKeys, startLocalNetwork, walletFor } from "../demo/localNetwork.ts";
import { startDemoHost } from "../demo/demoHost.ts";
import { demoPrompts, runConversation } from "../demo/conversation.ts";
import { printReport } from "../demo/report.ts";
import { startWebDemo } from "../demo/webDemo.ts";
import type { Common } from "../common.ts";

const deposits = { eth: 10_000_000_000_000_000n /* 0.01 ETH */, usdc: 5_000_000n /* 5 USDC */ } as const;

export const demoCommand: Command = {
  path: ["demo"],
  summary: "a whole session on an embedded local chain with the embedded model",
  // A guided show for people, not a result to parse.
  json: false,
  options: {
    asset: { type: "string", description: "pay in eth or usdc (default eth)" },
    prompts: { type: "string", description: `number of prompts, 1..${demoPrompts.length} (default 4)` },
    "max-tokens": { type: "string", description: "most completion tokens per answer (default 120)" },
    "proof-interval": { type: "string", description: "tokens between checkpoint proofs, 100..1000000 (default 100)" },
    web: { type: "boolean", description: "start the web app instead, with a local dev wallet, and print its URL" },
    port: { type: "string", description: "with --web: the app's port (default: a free one)" },
  },
  async run(common, values) {
    if (values.web) return runWebDemo(common, values.port as string | undefined);
    const assetName = (values.asset as string | undefined) ?? "eth";
    if (assetName !== "eth" && assetName !== "usdc") throw new CliError(`--asset: "${assetName}" is neither eth nor usdc`);
    const promptCount = Number(parseIntegerOption("prompts", (values.prompts as string | undefined) ?? "4", { min: 1n, max: BigInt(demoPrompts.length) }));
    const maxTokens = Number(parseIntegerOption("max-tokens", (values["max-tokens"] as string | undefined) ?? "120", { min: 1n, max: 2000n }));
    const proofInterval = parseIntegerOption("proof-interval", (values["proof-interval"] as string | undefined) ?? "100", { min: 100n, max: 1_000_000n });

    const ledger = createGasLedger();
    const network = await startLocalNetwork(common, ledger);
    try {
      const host = await startDemoHost(common, network, ledger);
      try {
        const token = assetName === "usdc" ? network.deployment.usdc! : zeroAddress;
        if (assetName === "usdc") {
          const user = privateKeyToAccount(demoKeys.user).address;
          const hash = await walletFor(network, demoKeys.owner).writeContract({
            address: token,
            abi: testUsdcAbi,
            functionName: "mint",
            args: [user, 100_000_000n],
          });
          await network.publicClient.waitForTransactionReceipt({ hash });
        }
        const asset = assetDisplay(token, network.deployment.usdc);
        const result = await runConversation(common, {
          network,
          host: host.node.address,
          token,
          asset,
          deposit: deposits[assetName],
          proofInterval,
          prompts: demoPrompts.slice(0, promptCount),
          maxTokens,
          ledger,
        });
        await printReport(common, { network, result, asset, ledger });
      } finally {
        await host.stop();
      }
    } finally {
      await network.anvil.stop();
    }
  },
};

async function runWebDemo(common: Common, portText: string | undefined): Promise<void> {
  const port = portText === undefined ? undefined : Number(parseIntegerOption("port", portText, { min: 0n, max: 65535n }));
  const demo = await startWebDemo(common, port === undefined ? {} : { port });
  try {
    common.logger.info(`\nSession Jobs is running: open ${demo.url}\n`);
    common.logger.info(`Connect the "Local dev wallet" (an anvil test account with ETH and 100 USDC), pick the host, open a session and chat.`);
    common.logger.info(
      `Host dashboard (served by the host node): ${demo.host.node.dashboardUrl ?? "off"}; its "Local dev wallet" is the host's own anvil account.`,
    );
    common.logger.info(`Host node: ${demo.host.node.url}  ·  chain: ${demo.network.anvil.rpcUrl}  ·  Ctrl-C stops everything.`);
    await new Promise<void>((resolve) => (common.signal.aborted ? resolve() : common.signal.addEventListener("abort", () => resolve(), { once: true })));
  } finally {
    await demo.stop();
  }
}
