import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { foundryBinary } from "./foundry.ts";

/** Options for {@link startAnvil}. */
export type StartAnvilParameters = {
  /** Chain id of the local chain. Default 31337. */
  chainId?: number;
  /** Seconds between blocks; omitted means a block per transaction (automine). */
  blockTime?: number;
  /** Extra command-line arguments for anvil. */
  extraArgs?: readonly string[];
  /** How long to wait for anvil to listen, in milliseconds. Default 15000. */
  startTimeoutMs?: number;
};

/** A running anvil: its RPC URL and a way to stop it. */
export type Anvil = {
  rpcUrl: string;
  port: number;
  chainId: number;
  process: ChildProcess;
  /**
   * Where anvil keeps the states of old blocks (`--cache-path`): a temporary folder of its own,
   * removed when anvil exits. anvil 1.x writes each block's state past the few it holds in memory
   * to disk (0.2–0.4 MB a block) and leaves it behind when stopped, under ~/.foundry by default.
   */
  statesPath: string;
  /** Stops anvil; resolves once it exited and its states folder is removed. */
  stop: () => Promise<void>;
};

/** Anvil's well-known development mnemonic accounts (public test keys, never for real funds). */
export const anvilPrivateKeys = [
  "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
  "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
  "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
  "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
  "0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a",
  "0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba",
  "0x92db14e403b83dfe3df233f83dfa3a0d7096f21ca9b0d6d6b8d88b2b4ec1564e",
  "0x4bbbf85ce3377467afe5d46f804f221813b2bb87f24d81f60f1fcdbf7cbf4356",
  "0xdbda1821b80551c9d65939329250298aa3472ba22feea921c0cf5d620ea67b97",
  "0x2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6",
] as const;

/**
 * Starts anvil on a free port (`--port 0`) and resolves once it listens, reading the port from
 * its "Listening on" line, so that parallel test workers never collide.
 *
 * @example
 * const anvil = await startAnvil();
 * const client = createPublicClient({ transport: http(anvil.rpcUrl) });
 * await anvil.stop();
 */
export async function startAnvil(parameters: StartAnvilParameters = {}): Promise<Anvil> {
  const chainId = parameters.chainId ?? 31337;
  const args = ["--port", "0", "--host", "127.0.0.1", "--chain-id", String(chainId)];
  if (parameters.blockTime !== undefined) args.push("--block-time", String(parameters.blockTime));
  const statesPath = await mkdtemp(join(tmpdir(), "session-jobs-anvil-"));
  args.push("--cache-path", statesPath);
  args.push(...(parameters.extraArgs ?? []));

  const child = spawn(foundryBinary("anvil"), args, { stdio: ["ignore", "pipe", "pipe"] });
  const exited = new Promise<void>((resolve) => child.once("exit", () => void rm(statesPath, { recursive: true, force: true }).finally(resolve)));
  const stderrLines: string[] = [];
  createInterface({ input: child.stderr }).on("line", (line) => stderrLines.push(line));

  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`anvil did not start in time: ${stderrLines.join("\n")}`));
    }, parameters.startTimeoutMs ?? 15_000);
    const lines = createInterface({ input: child.stdout });
    lines.on("line", (line) => {
      const match = /Listening on [^\s]*:(\d+)/.exec(line);
      if (match) {
        clearTimeout(timer);
        lines.removeAllListeners("line");
        child.stdout.resume();
        resolve(Number(match[1]));
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      void exited.then(() => reject(new Error(`anvil exited with code ${code}: ${stderrLines.join("\n")}`)));
    });
  });

  const stop = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
    return exited;
  };

  return { rpcUrl: `http://127.0.0.1:${port}`, port, chainId, process: child, statesPath, stop };
}
