import { createServer, type AddressInfo } from "node:net";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPublicClient, createWalletClient, formatEther, http, keccak256, stringToHex, zeroAddress, type Address } from "viem";
import { foundry } from "viem/chains";
import { testUsdcAbi } from "@session-jobs/contracts/abis";
import { privateKeyToAccount } from "viem/accounts";
import { anvilPrivateKeys, startAnvil, type Anvil } from "@session-jobs/contracts/anvil";
import { createCommon, createHostNode, loadHostConfig, type HostNode } from "@session-jobs/host";
import { createEmbeddedBackend, embeddedModelInfo, type ChatBackend } from "@session-jobs/inference";
import { deserializeSession, serializeSession, signSessionRequestHeaders } from "@session-jobs/sdk";
import { runCli } from "../cli.ts";
import { captureStreams } from "../../test/captureStreams.ts";
import { spawnCli } from "../../test/spawnCli.ts";

const keys = { owner: anvilPrivateKeys[0], host: anvilPrivateKeys[1], user: anvilPrivateKeys[2], treasury: anvilPrivateKeys[3] } as const;
const address = (key: `0x${string}`) => privateKeyToAccount(key).address;
const modelId = keccak256(stringToHex(`${embeddedModelInfo.repo}/${embeddedModelInfo.fileName}`));

/** Runs the CLI with in-memory streams; `env` replaces the process environment entirely. */
async function cli(argv: string[], env: NodeJS.ProcessEnv = {}) {
  const { stdout, stderr, streams } = captureStreams();
  const code = await runCli(argv, { ...streams, env: { CI: "true", ...env } });
  return { code, stdout: stdout.text(), stderr: stderr.text() };
}

/** Asserts a run failed with exactly one `error:` line (plus an optional hint) and no stack trace. */
function expectOneLineError(result: Awaited<ReturnType<typeof cli>>, pattern: RegExp) {
  expect(result.code, result.stdout + result.stderr).toBe(1);
  const lines = result.stderr.split("\n").filter((line) => line.startsWith("error:") || line.startsWith("  "));
  const errorLines = lines.filter((line) => !line.startsWith("  hint:"));
  expect(errorLines, result.stderr).toHaveLength(1);
  expect(errorLines[0]).toMatch(pattern);
  expect(result.stderr).not.toMatch(/\n\s+at /);
}

describe("session-jobs operations against anvil", () => {
  let anvil: Anvil;
  let dir: string;
  let deploymentPath: string;
  let hostConfigPath: string;
  let sessionsDir: string;
  let backend: ChatBackend;
  let node: HostNode | undefined;
  let jobId: string;
  let hostEarned: string;
  const env = () => ({ SESSION_JOBS_RPC_URL: anvil.rpcUrl, SESSION_JOBS_DEPLOYMENT: deploymentPath });
  const hostEnv = () => ({ ...env(), SESSION_JOBS_HOST_PRIVATE_KEY: keys.host, SESSION_JOBS_HOST_CONFIG: hostConfigPath });
  const userEnv = () => ({ ...env(), SESSION_JOBS_PRIVATE_KEY: keys.user, SESSION_JOBS_SESSIONS_DIR: sessionsDir });
  const chainClient = () => createPublicClient({ transport: http(anvil.rpcUrl) });
  const nonceOf = (account: Address) => chainClient().getTransactionCount({ address: account });
  const rpc = (method: string, params: unknown[]) => chainClient().request({ method, params } as never);
  /** Moves the chain's clock on (sessions expire), with a block so the new time is visible. */
  const passTime = async (seconds: number) => {
    await rpc("evm_increaseTime", [seconds]);
    await rpc("evm_mine", []);
  };

  beforeAll(async () => {
    [anvil, backend] = await Promise.all([startAnvil(), createEmbeddedBackend()]);
    dir = mkdtempSync(join(tmpdir(), "session-jobs-cli-"));
    deploymentPath = join(dir, "deployment.json");
    hostConfigPath = join(dir, "host.json");
    sessionsDir = join(dir, "sessions");
  });

  afterAll(async () => {
    await node?.stop();
    await backend?.close();
    await anvil?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("deploy writes the deployment file", async () => {
    const result = await cli(["deploy", "--test-usdc", "--treasury", address(keys.treasury), "--out", deploymentPath], {
      SESSION_JOBS_RPC_URL: anvil.rpcUrl,
      SESSION_JOBS_PRIVATE_KEY: keys.owner,
    });
    expect(result.code, result.stderr).toBe(0);
    const deployment = JSON.parse(readFileSync(deploymentPath, "utf8"));
    expect(deployment).toMatchObject({ chainId: anvil.chainId, treasury: address(keys.treasury), owner: address(keys.owner) });
    expect(deployment.usdc).toMatch(/^0x[0-9a-fA-F]{40}$/);
    expect(result.stdout).toContain(`deployment written to ${deploymentPath}`);
  });

  it("model add hashes the weights and prints the model id", async () => {
    const result = await cli(["model", "add", "--repo", embeddedModelInfo.repo, "--file", embeddedModelInfo.fileName, "--weights", embeddedModelInfo.path], {
      ...env(),
      SESSION_JOBS_PRIVATE_KEY: keys.owner,
    });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain(`modelId ${modelId}`);
    const again = await cli(["model", "add", "--repo", embeddedModelInfo.repo, "--file", embeddedModelInfo.fileName, "--sha256", `0x${"11".repeat(32)}`], {
      ...env(),
      SESSION_JOBS_PRIVATE_KEY: keys.owner,
    });
    expectOneLineError(again, /ModelAlreadyApproved/);
  });

  it("host register puts a running host node on chain", async () => {
    writeFileSync(
      hostConfigPath,
      JSON.stringify({
        deployments: deploymentPath,
        backend: { type: "embedded" },
        models: [modelId],
        pricing: { minPricePerToken: "1500", minPricePerTokenNative: "10000000000" },
        dbPath: join(dir, "host.sqlite"),
        server: { host: "127.0.0.1", port: 0 },
        chain: { pollingIntervalMs: 50 },
      }),
    );
    const config = loadHostConfig({ path: hostConfigPath, env: { SESSION_JOBS_RPC_URL: anvil.rpcUrl, SESSION_JOBS_HOST_PRIVATE_KEY: keys.host } });
    node = createHostNode({ common: createCommon({ logLevel: "silent" }), config, backend });
    const url = await node.start();
    const result = await cli(["host", "register", "--public-url", url], hostEnv());
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain(`host ${address(keys.host)} registered`);
    // The flag is saved, so that `host start` and the next `host register` use what was registered.
    expect(result.stdout).toContain(`saved publicUrl to ${hostConfigPath}`);
    expect(JSON.parse(readFileSync(hostConfigPath, "utf8")).publicUrl).toBe(url);
    const again = await cli(["host", "register", "--public-url", url], hostEnv());
    expect(again.stdout).toContain("unchanged");
  });

  it("client hosts and client pricing read the registration", async () => {
    const hosts = await cli(["client", "hosts", "--repo", embeddedModelInfo.repo, "--file", embeddedModelInfo.fileName], env());
    expect(hosts.code, hosts.stderr).toBe(0);
    expect(hosts.stdout).toContain(`1 host serves model ${modelId}`);
    expect(hosts.stdout).toMatch(new RegExp(`${address(keys.host)}\\s+http://127\\.0\\.0\\.1:\\d+\\s+1500\\s+10000000000`));
    const pricing = await cli(["client", "pricing", "--host", address(keys.host)], env());
    expect(pricing.code, pricing.stderr).toBe(0);
    expect(pricing.stdout).toContain("stable minimum (getNodePricing): 1500 base units/token");
    expect(pricing.stdout).toContain("largest checkpoint interval accepted: 1000 tokens");
    expect(pricing.stdout).toMatch(/ETH\s+0\.00000001 ETH\s+10000000000/);
    expect(pricing.stdout).toMatch(/USDC\s+0\.0015 USDC\s+1500\s+none/);
  });

  it("client open refuses a price below the host minimum and too small a deposit", async () => {
    const lowPrice = await cli(["client", "open", "--host", address(keys.host), "--deposit", "0.01", "--price", "5"], userEnv());
    expectOneLineError(lowPrice, /^error: Price below host minimum\..*Offered: 5 per token; Host minimum: 10000000000 per token/);
    const smallDeposit = await cli(["client", "open", "--host", address(keys.host), "--deposit", "0.000001"], userEnv());
    expectOneLineError(smallDeposit, /^error: the deposit must be at least 0\.0002 ETH \(--deposit 0\.000001 ETH\)$/);
    const smallUsdc = await cli(["client", "open", "--host", address(keys.host), "--deposit", "0.5", "--asset", "usdc"], userEnv());
    expectOneLineError(smallUsdc, /^error: the deposit must be at least 0\.8 USDC \(--deposit 0\.5 USDC\)$/);
    // The user holds no USDC yet: the balance in units, and where to get some on a development chain.
    const noUsdc = await cli(["client", "open", "--host", address(keys.host), "--deposit", "5", "--asset", "usdc"], userEnv());
    expectOneLineError(noUsdc, /^error: the deposit is 5 USDC but this account holds 0 USDC$/);
    expect(noUsdc.stderr).toContain("hint: on a development chain `session-jobs dev mint` gives TestUSDC");
  });

  it("client open, chat, status and close run a whole ETH session", async () => {
    const opened = await cli(
      ["client", "open", "--host", address(keys.host), "--deposit", "0.01", "--model-id", modelId, "--proof-interval", "100"],
      userEnv(),
    );
    expect(opened.code, opened.stderr).toBe(0);
    jobId = /session (\d+) open/.exec(opened.stdout)![1]!;
    const file = join(sessionsDir, `${anvil.chainId}-${jobId}.json`);
    expect(statSync(file).mode & 0o777).toBe(0o600);

    const chat = await cli(["client", "chat", "--job", jobId, "--prompt", "Genesis 1:1", "--max-tokens", "40"], userEnv());
    expect(chat.code, chat.stderr).toBe(0);
    const signed = Number(/receipt signed for (\d+) tokens in total/.exec(chat.stdout)![1]);
    expect(signed).toBeGreaterThan(0);
    expect(JSON.parse(readFileSync(file, "utf8")).cumulativeTokens).toBe(String(signed));

    const status = await cli(["client", "status", "--job", jobId], userEnv());
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toMatch(/status\s+active/);
    // The chain keeps a model without a verifier only in the SessionJobCreated event; status shows it from there.
    expect(status.stdout).toMatch(new RegExp(`model\\s+${modelId}`, "i"));
    expect(status.stdout).toMatch(new RegExp(`tokens signed for \\(local\\)\\s+${signed}`));

    const closed = await cli(["client", "close", "--job", jobId], userEnv());
    expect(closed.code, closed.stderr).toBe(0);
    expect(closed.stdout).toMatch(new RegExp(`tokens proven on chain\\s+${signed}`));
    expect(closed.stdout).toMatch(/closed by\s+host/);
    const payment = BigInt(signed) * 10_000_000_000n;
    const host = (payment * 9n) / 10n;
    hostEarned = formatEther(host);
    expect(closed.stdout).toMatch(new RegExp(`host, 90%\\s+${hostEarned.replace(".", "\\.")} ETH`));

    const after = await cli(["client", "status", "--job", jobId], userEnv());
    expect(after.stdout).toMatch(/status\s+completed/);

    // A settled session is "closed", not "closing", and the user is told what to do next.
    const late = await cli(["client", "chat", "--job", jobId, "--prompt", "more"], userEnv());
    expectOneLineError(late, new RegExp(`^error: session ${jobId} is no longer active: session ${jobId} is closed$`));
    expect(late.stderr).toContain(
      `hint: see how it ended with \`session-jobs client status --job ${jobId}\`; open a new session with \`session-jobs client open\``,
    );
  }, 30_000);

  it("client open pays in USDC with a permit and client close refunds what was not used", async () => {
    const deployment = JSON.parse(readFileSync(deploymentPath, "utf8")) as { usdc: `0x${string}` };
    const owner = createWalletClient({ account: privateKeyToAccount(keys.owner), chain: { ...foundry, id: anvil.chainId }, transport: http(anvil.rpcUrl) });
    const hash = await owner.writeContract({ address: deployment.usdc, abi: testUsdcAbi, functionName: "mint", args: [address(keys.user), 10_000_000n] });
    await createPublicClient({ transport: http(anvil.rpcUrl) }).waitForTransactionReceipt({ hash });
    // A saved session under the same chain id and job id (the chain was reset) is kept aside, never overwritten: it holds a session key.
    const earlier = join(sessionsDir, `${anvil.chainId}-${BigInt(jobId) + 1n}.json`);
    writeFileSync(earlier, "an earlier chain's session\n");
    const opened = await cli(["client", "open", "--host", address(keys.host), "--deposit", "2.5", "--asset", "usdc", "--model-id", modelId], userEnv());
    expect(opened.code, opened.stderr).toBe(0);
    expect(opened.stdout).toContain("price 1500 base units/token, deposit 2.5 USDC");
    const usdcJob = /session (\d+) open/.exec(opened.stdout)![1]!;
    expect(usdcJob).toBe(String(BigInt(jobId) + 1n));
    const kept = new RegExp(`warning: a session ${usdcJob} on chain ${anvil.chainId} was already saved here \\(was the chain reset\\?\\); kept it as (\\S+)`);
    expect(opened.stderr).toMatch(kept);
    expect(readFileSync(kept.exec(opened.stderr)![1]!, "utf8")).toBe("an earlier chain's session\n");
    const closed = await cli(["client", "close", "--job", usdcJob], userEnv());
    expect(closed.code, closed.stderr).toBe(0);
    expect(closed.stdout).toMatch(/refund\s+2\.5 USDC/);
  }, 30_000);

  it("host earnings and host withdraw pay out the host's 90%", async () => {
    const earnings = await cli(["host", "earnings", "--assets", "eth"], hostEnv());
    expect(earnings.code, earnings.stderr).toBe(0);
    expect(earnings.stdout).toMatch(new RegExp(`ETH\\s+${hostEarned.replace(".", "\\.")} ETH`));
    const withdrawn = await cli(["host", "withdraw"], hostEnv());
    expect(withdrawn.code, withdrawn.stderr).toBe(0);
    expect(withdrawn.stdout).toContain(`withdrew ${hostEarned} ETH`);
    const empty = await cli(["host", "earnings"], hostEnv());
    expect(empty.stdout).toMatch(/ETH\s+0 ETH/);
    expect(empty.stdout).toMatch(/USDC\s+0 USDC/);
    const nonce = await nonceOf(address(keys.host));
    const nothing = await cli(["host", "withdraw", "--json"], hostEnv());
    expect(nothing.code, nothing.stderr).toBe(0);
    expect(JSON.parse(nothing.stdout)).toEqual({ host: address(keys.host), transactionHash: null, withdrawn: [] });
    expect(await nonceOf(address(keys.host))).toBe(nonce);
  });

  it("treasury withdraw takes the fees, signed by the treasury only", async () => {
    const wrongKey = await cli(["treasury", "withdraw"], { ...env(), SESSION_JOBS_PRIVATE_KEY: keys.user });
    expectOneLineError(wrongKey, /not of the treasury/);
    const withdrawn = await cli(["treasury", "withdraw", "--assets", "eth,usdc"], { ...env(), SESSION_JOBS_PRIVATE_KEY: keys.treasury });
    expect(withdrawn.code, withdrawn.stderr).toBe(0);
    expect(withdrawn.stdout).toMatch(/withdrew 0\.\d+ ETH/);
    const nonce = await nonceOf(address(keys.treasury));
    const again = await cli(["treasury", "withdraw", "--assets", "eth,usdc"], { ...env(), SESSION_JOBS_PRIVATE_KEY: keys.treasury });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain("nothing to withdraw");
    expect(await nonceOf(address(keys.treasury))).toBe(nonce);
  });

  it("host update-pricing changes the minimum clients read", async () => {
    const updated = await cli(["host", "update-pricing", "--price", "2000"], hostEnv());
    expect(updated.code, updated.stderr).toBe(0);
    const pricing = await cli(["client", "pricing", "--host", address(keys.host), "--assets", "usdc"], env());
    expect(pricing.stdout).toContain("stable minimum (getNodePricing): 2000 base units/token");
    const tooLow = await cli(["host", "update-pricing", "--price", "50"], hostEnv());
    expectOneLineError(tooLow, /"updatePricing" reverted: PriceOutOfRange\(50, 100, 100000\)/);
  });

  it("host update-pricing publishes the largest checkpoint interval; client pricing shows it and client open keeps to it", async () => {
    const narrowed = await cli(["host", "update-pricing", "--max-checkpoint-interval", "500"], hostEnv());
    expect(narrowed.code, narrowed.stderr).toBe(0);
    try {
      const pricing = await cli(["client", "pricing", "--host", address(keys.host), "--assets", "eth"], env());
      expect(pricing.stdout).toContain("largest checkpoint interval accepted: 500 tokens");
      const opened = await cli(["client", "open", "--host", address(keys.host), "--deposit", "0.01", "--model-id", modelId], userEnv());
      expect(opened.code, opened.stderr).toBe(0);
      expect(opened.stdout).toContain("checkpoint every 500 tokens");
      const tooWide = await cli(["client", "open", "--host", address(keys.host), "--deposit", "0.01", "--proof-interval", "1000"], userEnv());
      expectOneLineError(tooWide, /Checkpoint interval 1000 is above the 500 tokens the host accepts/);
    } finally {
      const restored = await cli(["host", "update-pricing", "--max-checkpoint-interval", "1000"], hostEnv());
      expect(restored.code, restored.stderr).toBe(0);
    }
  });

  it("host update-pricing sets a minimum deposit per asset in whole units; client pricing shows it and client open names it", async () => {
    expectOneLineError(await cli(["host", "update-pricing", "--min-deposit", "1"], hostEnv()), /^error: --min-deposit needs --asset/);
    expectOneLineError(await cli(["host", "update-pricing", "--min-deposit", "-1", "--asset", "usdc"], hostEnv()), /^error: --min-deposit: -1 is negative/);
    expectOneLineError(await cli(["host", "update-pricing", "--min-deposit", "0.0000001", "--asset", "usdc"], hostEnv()), /more than 6 decimal places/);
    const set = await cli(["host", "update-pricing", "--min-deposit", "1", "--asset", "usdc"], hostEnv());
    expect(set.code, set.stderr).toBe(0);
    expect(set.stdout).toContain("minimum deposit 1 USDC");
    try {
      const pricing = await cli(["client", "pricing", "--host", address(keys.host)], env());
      expect(pricing.stdout).toMatch(/USDC\s+0\.002 USDC\s+2000\s+1 USDC/);
      expect(pricing.stdout).toMatch(/ETH\s+0\.00000001 ETH\s+10000000000\s+none/);
      const nonce = await nonceOf(address(keys.user));
      const below = await cli(["client", "open", "--host", address(keys.host), "--asset", "usdc", "--deposit", "0.9", "--model-id", modelId], userEnv());
      expectOneLineError(below, /^error: this host's minimum deposit is 1 USDC \(--deposit 0\.9 USDC\)/);
      expect(await nonceOf(address(keys.user))).toBe(nonce);
    } finally {
      const cleared = await cli(["host", "update-pricing", "--min-deposit", "0", "--asset", "usdc"], hostEnv());
      expect(cleared.code, cleared.stderr).toBe(0);
    }
  });

  it("client chat after an answer broke off shows what the host recorded of it, signs for it, and goes on", async () => {
    const opened = await cli(
      ["client", "open", "--host", address(keys.host), "--deposit", "0.01", "--model-id", modelId, "--proof-interval", "1000"],
      userEnv(),
    );
    expect(opened.code, opened.stderr).toBe(0);
    const job = /session (\d+) open/.exec(opened.stdout)![1]!;
    const file = join(sessionsDir, `${anvil.chainId}-${job}.json`);
    // The process sent a request, the host answered, and the process died before it saw the end
    // (Ctrl-C): the saved state says so (resync) and has no receipt for that answer.
    const saved = deserializeSession(readFileSync(file, "utf8"));
    const body = new TextEncoder().encode(JSON.stringify({ messages: [{ role: "user", content: "And God said" }], max_tokens: 30 }));
    const headers = await signSessionRequestHeaders(privateKeyToAccount(saved.sessionKey), saved, {
      jobId: saved.jobId,
      sequence: saved.sequence + 1n,
      transcriptHash: saved.transcriptHash,
      endpoint: "/v1/chat/completions",
      body,
    });
    const lost = await fetch(`${saved.hostUrl}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body });
    const lostAnswer = (await lost.json()) as { choices: { message: { content: string } }[]; session: { cumulativeTokens: string } };
    expect(lost.status).toBe(200);
    writeFileSync(file, serializeSession({ ...saved, sequence: saved.sequence + 1n, resync: true }));
    expect((await cli(["client", "status", "--job", job], userEnv())).stdout).toMatch(/last answer\s+broke off/);
    // The host served that answer and holds no receipt for it: unsigned tokens.
    const served = BigInt(lostAnswer.session.cumulativeTokens);
    const unsigned = await cli(["host", "earnings", "--json"], hostEnv());
    expect(unsigned.code, unsigned.stderr).toBe(0);
    expect(JSON.parse(unsigned.stdout).openSessions).toContainEqual(
      expect.objectContaining({
        jobId: job,
        servedTokens: String(served),
        signedTokens: "0",
        provenTokens: "0",
        signedUnprovenTokens: "0",
        unsignedTokens: String(served),
      }),
    );

    const chat = await cli(["client", "chat", "--job", job, "--prompt", "Genesis 1:1", "--max-tokens", "20"], userEnv());
    expect(chat.code, chat.stderr).toBe(0);
    expect(chat.stdout).toContain(`recovered the answer to request ${saved.sequence + 1n}`);
    expect(chat.stdout).toContain(lostAnswer.choices[0]!.message.content);
    const signed = BigInt(/receipt signed for (\d+) tokens in total/.exec(chat.stdout)![1]!);
    expect(signed).toBeGreaterThan(BigInt(lostAnswer.session.cumulativeTokens));
    const signedNow = await cli(["host", "earnings"], hostEnv());
    expect(signedNow.stdout).toMatch(new RegExp(`\\n${job}\\s+ETH\\s+${signed}\\s+0\\s+${signed}\\s+0\\n`));
    const after = JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>;
    expect(after).toMatchObject({ cumulativeTokens: String(signed), resync: false });
    expect(after.dispute).toBeUndefined();

    const closed = await cli(["client", "close", "--job", job], userEnv());
    expect(closed.code, closed.stderr).toBe(0);
    expect(closed.stdout).toMatch(new RegExp(`tokens proven on chain\\s+${signed}`));
  }, 30_000);

  it("host start serves, with its dashboard, until Ctrl-C and then stops cleanly", async () => {
    const site = join(dir, "dashboard-site");
    mkdirSync(site, { recursive: true });
    writeFileSync(join(site, "index.html"), "<!doctype html><title>dashboard</title>");
    const child = spawnCli(["host", "start", "--port", "0", "--log-level", "warn"], {
      env: {
        ...process.env,
        ...hostEnv(),
        CI: "true",
        SESSION_JOBS_HOST_DB: join(dir, "started.sqlite"),
        SESSION_JOBS_HOST_LOCK_DIR: dir,
        SESSION_JOBS_HOST_DASHBOARD_DIR: site,
      },
    });
    let stdout = "";
    let stderr = "";
    child.stderr.on("data", (chunk) => (stderr += String(chunk)));
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout.on("data", (chunk) => {
        stdout += String(chunk);
        const match = /serving at (http:\/\/\S+)/.exec(stdout);
        if (match) resolve(match[1]!);
      });
      void exited.then((code) => reject(new Error(`host start exited with ${code}:\n${stdout}\n${stderr}`)));
    });
    const health = await fetch(`${url}/health`);
    expect(health.status).toBe(200);
    await expect.poll(() => stdout).toContain(`dashboard: ${url}/dashboard/`);
    expect(await (await fetch(`${url}/dashboard/`)).text()).toContain("<title>dashboard</title>");
    child.kill("SIGINT");
    expect(await exited, stderr).toBe(0);
    expect(stdout).toContain("host stopped");
  }, 30_000);

  describe("finding and recovering stranded funds", () => {
    const openShort = async () => {
      const opened = await cli(
        ["client", "open", "--host", address(keys.host), "--deposit", "0.01", "--model-id", modelId, "--max-duration", "60", "--json"],
        userEnv(),
      );
      expect(opened.code, opened.stderr).toBe(0);
      return (JSON.parse(opened.stdout) as { jobId: string }).jobId;
    };
    const listed = async () => {
      const result = await cli(["client", "list", "--json"], userEnv());
      expect(result.code, result.stderr).toBe(0);
      return JSON.parse(result.stdout) as {
        sessions: { jobId: string; status: string; actions: string[]; saved: boolean; next: string[] }[];
        pendingRefunds: { token: string; amount: string }[];
      };
    };

    it("client list shows what each session needs; client timeout ends an expired one without the host", async () => {
      const job = await openShort();
      expect((await listed()).sessions).toContainEqual(expect.objectContaining({ jobId: job, status: "active", actions: ["resume", "close"], saved: true }));

      const tooLong = await cli(["client", "chat", "--job", job, "--prompt", "Genesis 1:1", "--max-tokens", "5000"], userEnv());
      expectOneLineError(tooLong, /^error: The host rejected the request as invalid: max_tokens must be at most 4096 \(Code: invalid_request \(HTTP 400\)/);

      const nonce = await nonceOf(address(keys.user));
      expectOneLineError(
        await cli(["client", "timeout", "--job", job], userEnv()),
        new RegExp(`^error: session ${job} may be ended by timeout from \\d{4}-\\d\\d-\\d\\dT`),
      );
      expect(await nonceOf(address(keys.user))).toBe(nonce);

      await passTime(61);
      const human = await cli(["client", "list"], userEnv());
      expect(human.stdout).toMatch(new RegExp(`\\n${job}\\s+active, expired\\s+0\\.01 ETH\\s+0\\s+\\S+\\s+saved\\s+close, timeout\\n`));
      expect(human.stdout).toContain(`job ${job}: session-jobs client timeout --job ${job}`);

      const timedOut = await cli(["client", "timeout", "--job", job, "--json"], userEnv());
      expect(timedOut.code, timedOut.stderr).toBe(0);
      expect(JSON.parse(timedOut.stdout)).toMatchObject({ jobId: job, provenTokens: "0", refund: "10000000000000000" });
      expect((await listed()).sessions.map((session) => session.jobId)).not.toContain(job);
      expectOneLineError(await cli(["client", "timeout", "--job", job], userEnv()), new RegExp(`^error: session ${job} has already ended \\(timedOut\\)$`));
    }, 30_000);

    it("a refund the depositor refused at settlement is listed, then withdrawn; nothing pending sends nothing", async () => {
      const job = await openShort();
      await passTime(61);
      // The depositor refuses ETH while the session settles (a contract wallet that cannot receive),
      // so the marketplace credits the refund instead of pushing it. Anyone may trigger the timeout.
      await rpc("anvil_setCode", [address(keys.user), "0x60006000fd"]);
      try {
        const timedOut = await cli(["client", "timeout", "--job", job], { ...env(), SESSION_JOBS_PRIVATE_KEY: keys.treasury });
        expect(timedOut.code, timedOut.stderr).toBe(0);
      } finally {
        await rpc("anvil_setCode", [address(keys.user), "0x"]);
      }
      const { sessions, pendingRefunds } = await listed();
      expect(pendingRefunds).toEqual([{ token: zeroAddress, amount: "10000000000000000" }]);
      expect(sessions).toContainEqual(
        expect.objectContaining({ jobId: job, status: "timedOut", actions: ["withdrawRefund"], next: ["session-jobs client withdraw-refund --assets eth"] }),
      );
      expect((await cli(["client", "list"], userEnv())).stdout).toContain("refund waiting: 0.01 ETH (session-jobs client withdraw-refund --assets eth)");

      const withdrawn = await cli(["client", "withdraw-refund"], userEnv());
      expect(withdrawn.code, withdrawn.stderr).toBe(0);
      expect(withdrawn.stdout).toContain(`withdrew 0.01 ETH to ${address(keys.user)}`);
      expect((await listed()).pendingRefunds).toEqual([]);

      const nonce = await nonceOf(address(keys.user));
      const nothing = await cli(["client", "withdraw-refund", "--json"], userEnv());
      expect(nothing.code, nothing.stderr).toBe(0);
      expect(JSON.parse(nothing.stdout)).toEqual({ depositor: address(keys.user), withdrawn: [] });
      expect(await nonceOf(address(keys.user))).toBe(nonce);
    }, 30_000);

    it("dev mint gives TestUSDC on a development chain and refuses any other chain", async () => {
      const deployment = JSON.parse(readFileSync(deploymentPath, "utf8")) as { usdc: Address };
      const balance = () =>
        chainClient().readContract({ address: deployment.usdc, abi: testUsdcAbi, functionName: "balanceOf", args: [address(keys.treasury)] });
      const before = await balance();
      const minted = await cli(["dev", "mint", "--amount", "12.5", "--to", address(keys.treasury), "--json"], userEnv());
      expect(minted.code, minted.stderr).toBe(0);
      expect(JSON.parse(minted.stdout)).toMatchObject({ to: address(keys.treasury), amount: "12500000" });
      expect(await balance()).toBe(before + 12_500_000n);

      const mainnetLike = await startAnvil({ chainId: 8453 });
      try {
        const otherDeployment = join(dir, "base.json");
        writeFileSync(otherDeployment, JSON.stringify({ ...JSON.parse(readFileSync(deploymentPath, "utf8")), chainId: 8453 }));
        const nonce = await createPublicClient({ transport: http(mainnetLike.rpcUrl) }).getTransactionCount({ address: address(keys.user) });
        const refused = await cli(["dev", "mint", "--amount", "1"], {
          ...userEnv(),
          SESSION_JOBS_RPC_URL: mainnetLike.rpcUrl,
          SESSION_JOBS_DEPLOYMENT: otherDeployment,
        });
        expectOneLineError(refused, /^error: chain 8453 is not a development chain \(31337, 1337\): nothing minted$/);
        expect(await createPublicClient({ transport: http(mainnetLike.rpcUrl) }).getTransactionCount({ address: address(keys.user) })).toBe(nonce);
      } finally {
        await mainnetLike.stop();
      }
    });

    it("every reporting command's --json is one JSON document on stdout", async () => {
      for (const argv of [
        ["client", "hosts", "--model-id", modelId],
        ["client", "pricing", "--host", address(keys.host)],
        ["client", "status", "--job", jobId],
        ["client", "list", "--all"],
      ]) {
        const result = await cli([...argv, "--json"], userEnv());
        expect(result.code, `${argv.join(" ")}: ${result.stderr}`).toBe(0);
        expect(() => JSON.parse(result.stdout), argv.join(" ")).not.toThrow();
      }
      const status = JSON.parse((await cli(["client", "status", "--job", jobId, "--json"], userEnv())).stdout);
      expect(status).toMatchObject({ jobId, status: "completed", local: { signedTokens: expect.stringMatching(/^\d+$/) } });
    });
  });

  describe("bad input is one line, never a stack trace", () => {
    it("a bad address", async () => {
      expectOneLineError(await cli(["client", "pricing", "--host", "0x1234"], env()), /^error: --host: "0x1234" is not an address/);
    });

    it("an unreachable RPC", async () => {
      expectOneLineError(
        await cli(["client", "pricing", "--host", address(keys.host)], { ...env(), SESSION_JOBS_RPC_URL: "http://127.0.0.1:1" }),
        /^error: cannot reach an RPC at http:\/\/127\.0\.0\.1:1$/,
      );
    });

    it("a missing key", async () => {
      expectOneLineError(await cli(["deploy"], { SESSION_JOBS_RPC_URL: anvil.rpcUrl }), /^error: missing SESSION_JOBS_PRIVATE_KEY$/);
    });

    it("a missing deployment file", async () => {
      expectOneLineError(
        await cli(["client", "hosts", "--model-id", modelId], { ...env(), SESSION_JOBS_DEPLOYMENT: join(dir, "nope.json") }),
        /^error: cannot read deployment file .*nope\.json \(ENOENT\)$/,
      );
    });

    it("an unreachable host", async () => {
      const deadHost = address(anvilPrivateKeys[5]);
      const config = join(dir, "dead-host.json");
      writeFileSync(config, JSON.stringify({ ...JSON.parse(readFileSync(hostConfigPath, "utf8")), publicUrl: "http://127.0.0.1:1" }));
      const registered = await cli(["host", "register", "--config", config], { ...env(), SESSION_JOBS_HOST_PRIVATE_KEY: anvilPrivateKeys[5] });
      expect(registered.code, registered.stderr).toBe(0);
      expect((await cli(["client", "hosts", "--model-id", modelId], env())).stdout).toContain(`2 hosts serve model ${modelId}`);
      expectOneLineError(
        await cli(["client", "open", "--host", deadHost, "--deposit", "0.01"], userEnv()),
        /^error: The host did not answer\. \(Code: ECONNREFUSED; URL: http:\/\/127\.0\.0\.1:1\/v1\/models\)$/,
      );
    });

    it("an invalid host config", async () => {
      expectOneLineError(
        await cli(["host", "earnings"], { ...env(), SESSION_JOBS_HOST_CONFIG: hostConfigPath }),
        /^error: invalid host configuration: host key: required/,
      );
    });

    it("a session that does not exist on chain exits 1", async () => {
      expectOneLineError(await cli(["client", "status", "--job", "999"], userEnv()), /^error: no session 999 on chain \d+$/);
    });
    it("host start with an unreachable RPC fails at once with one line", async () => {
      expectOneLineError(
        await cli(["host", "start", "--port", "0"], { ...hostEnv(), SESSION_JOBS_RPC_URL: "http://127.0.0.1:1" }),
        /^error: cannot reach an RPC at http:\/\/127\.0\.0\.1:1$/,
      );
    });
    it("every chain command with an unreachable RPC says so in one line, with the hint", async () => {
      const unreachable = /(^|\n)error: cannot reach an RPC at http:\/\/127\.0\.0\.1:1\n {2}hint: check --rpc-url/;
      for (const [argv, extra] of [
        [["host", "register", "--public-url", "http://127.0.0.1:9"], hostEnv()],
        [["host", "update-pricing", "--price", "2000"], hostEnv()],
        [["host", "withdraw"], hostEnv()],
        [["model", "add", "--repo", "r", "--file", "f", "--sha256", "11".repeat(32)], { ...env(), SESSION_JOBS_PRIVATE_KEY: keys.owner }],
        [["client", "open", "--host", address(keys.host), "--deposit", "0.01"], userEnv()],
      ] as const) {
        const result = await cli([...argv, "--rpc-url", "http://127.0.0.1:1"], extra);
        expectOneLineError(result, /^error: cannot reach an RPC at http:\/\/127\.0\.0\.1:1$/);
        expect(result.stderr, argv.join(" ")).toMatch(unreachable);
      }
    });
    it("a deployment whose contracts are not on the chain (anvil restarted, nothing redeployed) is one line naming the address", async () => {
      const real = JSON.parse(readFileSync(deploymentPath, "utf8")) as Record<string, unknown>;
      const empty = join(dir, "no-code.json");
      const nowhere = (n: number) => `0x${n.toString(16).padStart(40, "0")}`;
      writeFileSync(
        empty,
        JSON.stringify({
          ...real,
          modelRegistry: nowhere(0xc0de1),
          nodeRegistry: nowhere(0xc0de2),
          proofSystem: nowhere(0xc0de3),
          hostEarnings: nowhere(0xc0de4),
          jobMarketplace: nowhere(0xc0de5),
        }),
      );
      const noCode = new RegExp(`^error: no contract at 0x0{35}c0de[2-5] on chain ${anvil.chainId} \\(\\w+ returned no data\\)$`, "i");
      const hint = "hint: no contract there — redeploy (session-jobs deploy) or point SESSION_JOBS_DEPLOYMENT at this chain's deployment";
      for (const [argv, extra] of [
        [["host", "register", "--public-url", "http://127.0.0.1:9"], hostEnv()],
        [["host", "start", "--port", "0"], { ...hostEnv(), SESSION_JOBS_HOST_DB: join(dir, "no-code.sqlite"), SESSION_JOBS_HOST_LOCK_DIR: dir }],
        [["client", "open", "--host", address(keys.host), "--deposit", "0.01"], userEnv()],
        [["client", "hosts", "--model-id", modelId], userEnv()],
        [["host", "earnings"], hostEnv()],
      ] as const) {
        const result = await cli([...argv], { ...extra, SESSION_JOBS_DEPLOYMENT: empty });
        expectOneLineError(result, noCode);
        expect(result.stderr, argv.join(" ")).toContain(hint);
      }
      // Reading events finds nothing where there is no contract: `client list` must not report "0 sessions".
      const listed = await cli(["client", "list"], { ...userEnv(), SESSION_JOBS_DEPLOYMENT: empty });
      expectOneLineError(listed, new RegExp(`^error: no contract at 0x0{35}c0de5 on chain ${anvil.chainId} \\(jobMarketplace has no code\\)$`, "i"));
      expect(listed.stderr).toContain(hint);
    }, 30_000);
    it("host start on a database from before an anvil restart (same chain id, addresses and key) is one line saying the chain was reset", async () => {
      const dbPath = join(dir, "before-reset.sqlite");
      const config = loadHostConfig({ path: hostConfigPath, env: { SESSION_JOBS_RPC_URL: anvil.rpcUrl, SESSION_JOBS_HOST_PRIVATE_KEY: keys.host } });
      const before = createHostNode({ common: createCommon({ logLevel: "silent" }), config: { ...config, store: { kind: "sqlite", path: dbPath } }, backend });
      await before.start();
      await before.stop();
      // The restarted chain: a later genesis timestamp, the same deploy from the same key.
      const genesis = await chainClient().getBlock({ blockNumber: 0n });
      const restarted = await startAnvil({ extraArgs: ["--timestamp", String(genesis.timestamp + 1n)] });
      try {
        const redeployed = join(dir, "redeployed.json");
        const deployed = await cli(["deploy", "--test-usdc", "--treasury", address(keys.treasury), "--out", redeployed], {
          SESSION_JOBS_RPC_URL: restarted.rpcUrl,
          SESSION_JOBS_PRIVATE_KEY: keys.owner,
        });
        expect(deployed.code, deployed.stderr).toBe(0);
        const jobMarketplace = (path: string) => (JSON.parse(readFileSync(path, "utf8")) as { jobMarketplace: string }).jobMarketplace;
        expect(jobMarketplace(redeployed)).toBe(jobMarketplace(deploymentPath));
        const newGenesis = (await createPublicClient({ transport: http(restarted.rpcUrl) }).getBlock({ blockNumber: 0n })).hash;
        const result = await cli(["host", "start", "--port", "0"], {
          ...hostEnv(),
          SESSION_JOBS_RPC_URL: restarted.rpcUrl,
          SESSION_JOBS_DEPLOYMENT: redeployed,
          SESSION_JOBS_HOST_DB: dbPath,
          SESSION_JOBS_HOST_LOCK_DIR: dir,
        });
        expectOneLineError(
          result,
          new RegExp(`^error: the chain was reset: chain ${anvil.chainId}'s genesis block is ${newGenesis}, this database's is ${genesis.hash}`),
        );
        expect(result.stderr).toContain(`hint: its sessions belong to the old chain: move ${dbPath} away or point dbPath elsewhere to start fresh`);
      } finally {
        await restarted.stop();
      }
    }, 60_000);
    it("host start on a port in use is one line with a hint", async () => {
      const taken = createServer();
      await new Promise<void>((resolve) => taken.listen(0, "127.0.0.1", resolve));
      const { port } = taken.address() as AddressInfo;
      try {
        const result = await cli(["host", "start", "--listen", "127.0.0.1", "--port", String(port)], {
          ...hostEnv(),
          SESSION_JOBS_HOST_DB: join(dir, "busy.sqlite"),
          SESSION_JOBS_HOST_LOCK_DIR: dir,
        });
        expectOneLineError(result, new RegExp(`^error: port ${port} on 127\\.0\\.0\\.1 is already in use$`));
        expect(result.stderr).toContain("hint: another program listens there: give --port (0 picks a free one) or change [server] port in host.toml");
      } finally {
        await new Promise((resolve) => taken.close(resolve));
      }
    }, 30_000);
    it("a session that was never saved", async () => {
      expectOneLineError(await cli(["client", "chat", "--job", "999", "--prompt", "hi"], userEnv()), /^error: no saved session 999 on chain/);
    });
  });
});
