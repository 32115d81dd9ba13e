import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPublicClient, http, isAddress } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { anvilPrivateKeys, startAnvil, type Anvil } from "@session-jobs/contracts/anvil";
import { runCli } from "../cli.ts";
import { captureStreams } from "../../test/captureStreams.ts";
import { spawnCli } from "../../test/spawnCli.ts";

const deployer = privateKeyToAccount(anvilPrivateKeys[0]).address;

describe("deploy never loses a deployment", () => {
  let anvil: Anvil;
  let dir: string;
  const env = () => ({ CI: "true", SESSION_JOBS_RPC_URL: anvil.rpcUrl, SESSION_JOBS_PRIVATE_KEY: anvilPrivateKeys[0] });
  const client = () => createPublicClient({ transport: http(anvil.rpcUrl) });
  const nonce = () => client().getTransactionCount({ address: deployer });

  async function deploy(args: string[]) {
    const { stdout, stderr, streams } = captureStreams();
    const code = await runCli(["deploy", ...args], { ...streams, env: env() });
    return { code, stdout: stdout.text(), stderr: stderr.text() };
  }

  beforeAll(async () => {
    anvil = await startAnvil();
    dir = mkdtempSync(join(tmpdir(), "session-jobs-deploy-"));
  });
  afterAll(async () => {
    await anvil?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("a dry run sends nothing and predicts the addresses and gas of the real deployment", async () => {
    const before = await nonce();
    const out = join(dir, "first.json");
    const dry = await deploy(["--test-usdc", "--out", out, "--dry-run", "--json"]);
    expect(dry.code, dry.stderr).toBe(0);
    expect(await nonce()).toBe(before);
    const simulated = JSON.parse(dry.stdout) as { deployment: Record<string, string>; steps: { name: string; gasUsed: string }[]; totalGas: string };
    expect(simulated.steps.map((step) => step.name)).toEqual([
      "ModelRegistry",
      "NodeRegistryWithModels",
      "ProofSystem",
      "JobMarketplaceWithModels",
      "TestUSDC",
      "JobMarketplaceWithModels.configureAsset(USDC)",
    ]);
    for (const step of simulated.steps) expect(BigInt(step.gasUsed)).toBeGreaterThan(21_000n);

    const real = await deploy(["--test-usdc", "--out", out]);
    expect(real.code, real.stderr).toBe(0);
    const written = JSON.parse(readFileSync(out, "utf8")) as Record<string, string>;
    for (const field of ["modelRegistry", "nodeRegistry", "proofSystem", "jobMarketplace", "hostEarnings", "usdc"])
      expect(written[field]).toBe(simulated.deployment[field]);
    for (const step of simulated.steps) expect(real.stdout).toMatch(new RegExp(`${step.name.replace(/[().]/g, "\\$&")}\\s.*gas ${step.gasUsed}\\)`));
  });

  it("prints every contract address with its name, HostEarnings included, and no transaction hash as an address", async () => {
    const out = join(dir, "labelled.json");
    const result = await deploy(["--out", out]);
    expect(result.code, result.stderr).toBe(0);
    const written = JSON.parse(readFileSync(out, "utf8")) as Record<string, string>;
    expect(result.stdout).toContain(`ModelRegistry                              ${written.modelRegistry}\n`);
    expect(result.stdout).toContain(`JobMarketplaceWithModels                   ${written.jobMarketplace}\n`);
    expect(result.stdout).toContain(`HostEarnings (created by the marketplace)  ${written.hostEarnings}\n`);
    expect(result.stdout).not.toContain("stable token");
    for (const [, address] of result.stdout.matchAll(/ at (0x\S+)/g)) expect(isAddress(address!)).toBe(true);
    for (const [, hash] of result.stdout.matchAll(/transaction (0x\S+),/g)) expect(hash).toMatch(/^0x[0-9a-f]{64}$/);
  });

  it("refuses to overwrite without --force, before sending anything", async () => {
    const out = join(dir, "kept.json");
    writeFileSync(out, "precious\n");
    const before = await nonce();
    const refused = await deploy(["--out", out]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe(`error: ${out} already exists: give --force to overwrite it, or another --out\n`);
    expect(await nonce()).toBe(before);
    expect(readFileSync(out, "utf8")).toBe("precious\n");
    const forced = await deploy(["--out", out, "--force"]);
    expect(forced.code, forced.stderr).toBe(0);
    expect(JSON.parse(readFileSync(out, "utf8"))).toMatchObject({ chainId: anvil.chainId });
  });

  it("refuses a path it cannot write (a folder, a pipe, a device, under a file) before sending anything", async () => {
    const fifo = join(dir, "pipe.json");
    execFileSync("mkfifo", [fifo]);
    const file = join(dir, "plain");
    writeFileSync(file, "");
    mkdirSync(join(dir, "folder.json"));
    const before = await nonce();
    for (const [out, message] of [
      [join(dir, "folder.json"), "is not a regular file"],
      [fifo, "is not a regular file"],
      ["/dev/full", "is not a regular file"],
      [join(file, "deployment.json"), "is not a folder"],
      ["", "the deployment file path is empty"],
    ] as const) {
      const result = await deploy(["--out", out, "--force"]);
      expect(result.code, out).toBe(1);
      expect(result.stderr, out).toContain(message);
      expect(result.stderr.trim().split("\n"), out).toHaveLength(1);
    }
    expect(await nonce()).toBe(before);
  });

  it("SIGTERM stops a deployment that waits for a transaction, and says what was sent", async () => {
    await client().request({ method: "evm_setAutomine", params: [false] } as never);
    const child = spawnCli(["deploy", "--out", join(dir, "never.json")], {
      env: { ...process.env, ...env() },
    });
    try {
      let stderr = "";
      const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
      // Wait until the first transaction is in the mempool: the deploy is then waiting for its receipt.
      const pending = async () => {
        const status: { pending: string } = await client().request({ method: "txpool_status" } as never);
        return Number(status.pending);
      };
      while ((await pending()) === 0) await new Promise((resolve) => setTimeout(resolve, 50));
      child.stderr.on("data", (chunk) => (stderr += String(chunk)));
      child.kill("SIGTERM");
      expect(await exited).toBe(130);
      expect(stderr).toMatch(/error: deploy step "ModelRegistry" failed: interrupted; transaction 0x[0-9a-f]{64} was sent and may still be mined/);
    } finally {
      child.kill("SIGKILL");
      await client().request({ method: "evm_setAutomine", params: [true] } as never);
    }
  }, 60_000);
});
