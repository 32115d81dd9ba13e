import { Writable } from "node:stream";
import { createLogger, type Common } from "../src/common.ts";
import { createGasLedger } from "../src/gasLedger.ts";
import { startLocalNetwork, type LocalNetwork } from "../src/demo/localNetwork.ts";
import { startDemoHost, type DemoHost } from "../src/demo/demoHost.ts";

/** A deployed local chain with a registered host serving the embedded model, for end-to-end tests. */
export async function startLocalStack(): Promise<{ network: LocalNetwork; host: DemoHost; stop: () => Promise<void> }> {
  const silent = new Writable({ write: (_chunk, _encoding, callback) => callback() });
  const common: Common = { env: process.env, logger: createLogger(silent, silent), signal: new AbortController().signal, debug: false };
  const ledger = createGasLedger();
  const network = await startLocalNetwork(common, ledger);
  try {
    const host = await startDemoHost(common, network, ledger);
    return {
      network,
      host,
      stop: async () => {
        await host.stop();
        await network.anvil.stop();
      },
    };
  } catch (error) {
    await network.anvil.stop();
    throw error;
  }
}
