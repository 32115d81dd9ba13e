import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createCommon, createHostNode, type HostNode } from "@session-jobs/host";
import { createEmbeddedBackend, type ChatBackend } from "@session-jobs/inference";
import { nodeRegistryWithModelsAbi } from "@session-jobs/sdk";
import { privateKeyToAccount } from "viem/accounts";
import { runCli } from "../../src/cli.ts";
import { demoKeys, walletFor, type LocalNetwork } from "../../src/demo/localNetwork.ts";
import { saveSession } from "../../src/sessionStore.ts";
import { captureStreams } from "../captureStreams.ts";
import { freePort, hostConfigInput, openUserSession, register, startNetwork } from "./harness.ts";

// A host moves (a new port here; a load balancer in production) and re-registers its URL on chain
// (`host register`: updateApiUrl) while sessions are open. Their saved state still names the old
// URL, where nothing listens any more: `client chat` and `client close` follow the registration.

let network: LocalNetwork;
let backend: ChatBackend;
let dir: string;
let node: HostNode | undefined;
let deploymentPath: string;
const sessionsDir = () => join(dir, "sessions");
const hostAddress = privateKeyToAccount(demoKeys.host).address;

async function cli(argv: string[], env: Record<string, string> = {}) {
  const { stdout, stderr, streams } = captureStreams();
  const code = await runCli(argv, {
    ...streams,
    env: { CI: "true", SESSION_JOBS_DEPLOYMENT: deploymentPath, SESSION_JOBS_SESSIONS_DIR: sessionsDir(), SESSION_JOBS_PRIVATE_KEY: demoKeys.user, ...env },
  });
  return { code, stdout: stdout.text(), stderr: stderr.text() };
}

/** Registers the demo host at a fresh port and starts it there, on the same database as before. */
async function startHostOnNewPort(): Promise<string> {
  const config = await register(hostConfigInput(network, dir, await freePort()));
  node = createHostNode({ common: createCommon({ logLevel: "silent" }), config, backend });
  return node.start();
}

const savedUrl = (jobId: bigint) =>
  (JSON.parse(readFileSync(join(sessionsDir(), `${network.anvil.chainId}-${jobId}.json`), "utf8")) as { hostUrl: string }).hostUrl;
const movedLine = (from: string, to: string) =>
  `warning: host ${hostAddress} did not answer at ${from} (ECONNREFUSED); following its registered URL ${to} (saved)`;

beforeAll(async () => {
  [network, backend] = await Promise.all([startNetwork(), createEmbeddedBackend()]);
  dir = mkdtempSync(join(tmpdir(), "session-jobs-moved-"));
  deploymentPath = join(dir, "deployment.json");
  writeFileSync(deploymentPath, JSON.stringify(network.deployment));
}, 45_000);

afterAll(async () => {
  await node?.stop();
  await backend?.close();
  await network?.anvil.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("a host that moved to another URL and re-registered it", () => {
  it("client chat and client close follow the host's registered URL, save it and say so; a host that is only down is not followed", async () => {
    const oldUrl = await startHostOnNewPort();
    const chatting = await openUserSession(network, 100n);
    const closing = await openUserSession(network, 100n);
    for (const session of [chatting, closing]) saveSession({ "sessions-dir": sessionsDir() }, session);
    const before = await cli(["client", "chat", "--job", String(closing.jobId), "--prompt", "Genesis 1:1", "--max-tokens", "20"]);
    expect(before.code, before.stderr).toBe(0);
    const signed = /receipt signed for (\d+) tokens in total/.exec(before.stdout)![1]!;

    await node!.stop();
    const rpc = { SESSION_JOBS_RPC_URL: network.anvil.rpcUrl };
    const chat = (env: Record<string, string> = rpc) =>
      cli(["client", "chat", "--job", String(chatting.jobId), "--prompt", "In the beginning", "--max-tokens", "20"], env);
    // Down, not moved: the registration still names the saved URL.
    const down = await chat();
    expect(down.code).toBe(1);
    expect(down.stderr).toContain(`error: the host did not answer at ${oldUrl} (ECONNREFUSED)`);
    expect(down.stderr).toContain("hint: the host's registered URL is this one: it is down");
    expect(down.stderr).not.toMatch(/\n\s+at /);

    const newUrl = await startHostOnNewPort();
    expect(newUrl).not.toBe(oldUrl);
    // Without a chain to read, the client cannot look the host up: it says how to let it.
    const noRpc = await chat({});
    expect(noRpc.code).toBe(1);
    expect(noRpc.stderr).toContain(`error: the host did not answer at ${oldUrl} (ECONNREFUSED)`);
    expect(noRpc.stderr).toContain("hint: if it moved, give --rpc-url (or SESSION_JOBS_RPC_URL)");
    expect(savedUrl(chatting.jobId)).toBe(oldUrl);

    const moved = await chat();
    expect(moved.code, moved.stderr).toBe(0);
    expect(moved.stderr.split("\n").filter((line) => line.startsWith("warning:"))).toEqual([movedLine(oldUrl, newUrl)]);
    expect(moved.stdout).toMatch(/receipt signed for \d+ tokens in total/);
    expect(savedUrl(chatting.jobId)).toBe(newUrl);
    const again = await chat();
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).not.toContain("warning:");

    const closed = await cli(["client", "close", "--job", String(closing.jobId)], rpc);
    expect(closed.code, closed.stderr).toBe(0);
    expect(closed.stderr.split("\n").filter((line) => line.startsWith("warning:"))).toEqual([movedLine(oldUrl, newUrl)]);
    expect(closed.stdout).toMatch(/closed by\s+host/);
    expect(closed.stdout).toMatch(new RegExp(`tokens proven on chain\\s+${signed}`));
    expect(savedUrl(closing.jobId)).toBe(newUrl);
  }, 90_000);

  it("a registration that is not http(s), or none (unregistered), is not followed: client chat says so, and client close still settles without the host", async () => {
    const session = await openUserSession(network, 100n);
    saveSession({ "sessions-dir": sessionsDir() }, session);
    await node!.stop();
    const host = walletFor(network, demoKeys.host);
    const rpc = { SESSION_JOBS_RPC_URL: network.anvil.rpcUrl };
    const chat = () => cli(["client", "chat", "--job", String(session.jobId), "--prompt", "In the beginning"], rpc);
    // A registration that is not an http(s) URL is not followed, and what the host wrote is quoted (one line).
    await network.publicClient.waitForTransactionReceipt({
      hash: await host.writeContract({
        address: network.deployment.nodeRegistry,
        abi: nodeRegistryWithModelsAbi,
        functionName: "updateApiUrl",
        args: ["ftp://moved\nerror: forged line"],
      }),
    });
    const notHttp = await chat();
    expect(notHttp.code).toBe(1);
    expect(notHttp.stderr).toContain('hint: the host\'s registered URL ("ftp://moved\\nerror: forged line") is not an http(s) URL, so it was not followed');
    expect(notHttp.stderr.split("\n").filter((line) => line.startsWith("error:"))).toHaveLength(1);
    expect(savedUrl(session.jobId)).toBe(session.hostUrl);

    await network.publicClient.waitForTransactionReceipt({
      hash: await host.writeContract({ address: network.deployment.nodeRegistry, abi: nodeRegistryWithModelsAbi, functionName: "unregisterNode" }),
    });
    const unregistered = await chat();
    expect(unregistered.code).toBe(1);
    expect(unregistered.stderr).toContain(`error: the host did not answer at ${session.hostUrl} (ECONNREFUSED)`);
    expect(unregistered.stderr).toContain(`hint: the host is no longer registered; session-jobs client close --job ${session.jobId} settles without it`);
    // The host is asked again for --host-timeout (it may be restarting), saying so in one line, then the client settles.
    const closed = await cli(["client", "close", "--job", String(session.jobId), "--host-timeout", "3"], rpc);
    expect(closed.code, closed.stderr).toBe(0);
    expect(closed.stderr).not.toContain("warning: host");
    expect(closed.stderr.split("\n").filter((line) => line.startsWith("warning:"))).toEqual([
      expect.stringMatching(
        new RegExp(
          `^warning: the host did not answer the close at ${session.hostUrl.replace(/\./g, "\\.")} \\(ECONNREFUSED\\); asking it again for up to [1-3] s \\(--host-timeout to change\\), then the client settles without it$`,
        ),
      ),
    ]);
    expect(closed.stdout).toMatch(/closed by\s+client/);
  }, 90_000);
});
