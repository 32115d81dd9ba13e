import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { createPublicClient, createWalletClient, http, type Chain, type Hex, type HttpTransport, type PublicClient, type WalletClient } from "viem";
import { privateKeyToAccount, type PrivateKeyAccount } from "viem/accounts";
import { foundry } from "viem/chains";
import { startAnvil, anvilPrivateKeys, type Anvil } from "@session-jobs/contracts/anvil";
import { modelRegistryAbi } from "@session-jobs/contracts/abis";
import { deploySessionJobs, type SessionJobsDeployment } from "@session-jobs/contracts/deploy";
import { localPollingIntervalMs } from "@session-jobs/contracts/local-chain";
import { embeddedModelInfo } from "@session-jobs/inference";
import type { Common } from "../common.ts";
import type { GasLedger } from "../gasLedger.ts";
import { modelIdOf } from "../modelId.ts";

/** Anvil's development keys, by the role each plays in the demo. */
export const demoKeys = {
  owner: anvilPrivateKeys[0],
  host: anvilPrivateKeys[1],
  user: anvilPrivateKeys[2],
  treasury: anvilPrivateKeys[3],
} as const;

export { localPollingIntervalMs };

export type LocalNetwork = {
  anvil: Anvil;
  publicClient: PublicClient;
  deployment: SessionJobsDeployment;
  /** On-chain id of the embedded model, approved in the ModelRegistry. */
  modelId: Hex;
};

export function walletFor(network: Pick<LocalNetwork, "anvil">, key: Hex): WalletClient<HttpTransport, Chain, PrivateKeyAccount> {
  return createWalletClient({
    account: privateKeyToAccount(key),
    chain: { ...foundry, id: network.anvil.chainId },
    transport: http(network.anvil.rpcUrl),
    pollingInterval: localPollingIntervalMs,
  });
}

/** Starts an embedded anvil, deploys the five contracts (and TestUSDC), approves the embedded model. */
export async function startLocalNetwork(common: Common, ledger: GasLedger): Promise<LocalNetwork> {
  const anvil = await common.logger.progress("starting a local chain (anvil)", () => startAnvil());
  try {
    const publicClient = createPublicClient({ transport: http(anvil.rpcUrl), pollingInterval: localPollingIntervalMs }) as PublicClient;
    const network = { anvil };
    const owner = walletFor(network, demoKeys.owner);
    const deployment = await common.logger.progress("deploying the Session Jobs contracts", () =>
      deploySessionJobs({
        walletClient: owner,
        publicClient,
        treasury: privateKeyToAccount(demoKeys.treasury).address,
        deployTestUsdc: true,
      }),
    );
    // The registry records the sha256 of the weights actually served, read from the file itself.
    const weightsSha256 = createHash("sha256").update(readFileSync(embeddedModelInfo.path)).digest("hex");
    const modelId = modelIdOf(embeddedModelInfo.repo, embeddedModelInfo.fileName);
    await common.logger.progress(`approving model ${embeddedModelInfo.repo}/${embeddedModelInfo.fileName}`, async () => {
      const hash = await owner.writeContract({
        address: deployment.modelRegistry,
        abi: modelRegistryAbi,
        functionName: "addModel",
        args: [embeddedModelInfo.repo, embeddedModelInfo.fileName, `0x${weightsSha256}`],
      });
      await publicClient.waitForTransactionReceipt({ hash });
      ledger.record({ label: "ModelRegistry.addModel", hash, payer: "owner" });
    });
    return { anvil, publicClient, deployment, modelId };
  } catch (error) {
    await anvil.stop();
    throw error;
  }
}
