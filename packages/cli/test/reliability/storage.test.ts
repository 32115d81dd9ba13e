import { rmSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { anvilPrivateKeys } from "@session-jobs/contracts/anvil";
import { chat, closeSession } from "@session-jobs/sdk";
import { demoKeys, walletFor, type LocalNetwork } from "../../src/demo/localNetwork.ts";
import {
  freePort,
  hostView,
  neverSigningClient,
  openUserSession,
  register,
  spawnHost,
  startNetwork,
  waitReady,
  writeHostConfig,
  type HostProcess,
} from "./harness.ts";

// Storage faults of a running host (`host start` as its own process): one process per database and
// per key; a database file removed under the node makes /ready fail and new work get 503
// `storage_unavailable`, and nothing it stored is lost across a restart.

let network: LocalNetwork;
const hosts: HostProcess[] = [];
const cleanups: (() => void)[] = [];
beforeAll(async () => {
  network = await startNetwork();
}, 30_000);
afterAll(async () => {
  for (const host of hosts) await host.kill9();
  cleanups.forEach((cleanup) => cleanup());
  await network?.anvil.stop();
});

/** A host config on a fresh port whose proofs wait: nothing is proven unless the test closes. */
async function hostConfig(extra: Parameters<typeof writeHostConfig>[2] = {}) {
  const port = await freePort();
  const config = writeHostConfig(network, port, { batch: { delayMs: 600_000, idleFlushSeconds: 3_600 }, ...extra });
  cleanups.push(config.cleanup);
  return { ...config, url: `http://127.0.0.1:${port}` };
}

function start(path: string, env?: Record<string, string>): HostProcess {
  const host = spawnHost(path, { env });
  hosts.push(host);
  return host;
}

describe("storage faults", () => {
  it("a second host start with the same key, or on the same database, refuses with one clear line; the first serves on", async () => {
    const first = await hostConfig();
    await register(first.input);
    const running = start(first.path);
    await waitReady(first.url, 45_000, running.child);

    const sameKey = await hostConfig({ lockDir: first.dir });
    const second = start(sameKey.path);
    expect(await second.exited).not.toBe(0);
    expect(second.output()).toMatch(/another host process already runs with key 0x[0-9a-fA-F]{40} on marketplace/);
    expect(second.output()).not.toMatch(/\n\s+at /);

    const sameDatabase = await hostConfig({ dbPath: first.input.dbPath });
    const third = start(sameDatabase.path, { SESSION_JOBS_HOST_PRIVATE_KEY: anvilPrivateKeys[4] });
    expect(await third.exited).not.toBe(0);
    expect(third.output()).toMatch(/the database .*host\.sqlite is in use by another host process/);

    expect((await fetch(`${first.url}/ready`)).status).toBe(200);
    expect(await running.sigint()).toBe(0);
  }, 90_000);

  it("a database removed under the running host: /ready fails, new work is refused with 503, and a restart has everything", async () => {
    const config = await hostConfig();
    await register(config.input);
    let host = start(config.path);
    await waitReady(config.url, 45_000, host.child);
    const session = await openUserSession(network, 1_000n);
    await chat(session, { messages: [{ role: "user", content: "In the beginning" }], maxTokens: 20 });
    await chat(session, { messages: [{ role: "user", content: "And God said" }], maxTokens: 20 });
    const before = await hostView(config.url, session.jobId);
    expect(BigInt(before.signedTokens)).toBe(session.cumulativeTokens);

    for (const suffix of ["", "-wal", "-shm"]) rmSync(`${config.input.dbPath!}${suffix}`, { force: true });

    const ready = await fetch(`${config.url}/ready`);
    expect(ready.status).toBe(503);
    expect(((await ready.json()) as { error: { message: string } }).error.message).toMatch(/storage: .*was removed/);
    expect(await neverSigningClient(config.url, session)("Genesis 1:1", 8)).toEqual({ status: 503, code: "storage_unavailable", billed: 0 });
    const receipt = await fetch(`${config.url}/v1/session/receipt`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        jobId: String(session.jobId),
        cumulativeTokens: before.signedTokens,
        transcriptHash: before.transcriptHash,
        signature: session.receipt!.signature,
      }),
    });
    expect(receipt.status).toBe(503);
    expect(((await receipt.json()) as { error: { code: string } }).error.code).toBe("storage_unavailable");

    expect(await host.sigint()).toBe(0);
    host = start(config.path);
    await waitReady(config.url, 45_000, host.child);
    const after = await hostView(config.url, session.jobId);
    expect(after).toMatchObject({ signedTokens: before.signedTokens, servedTokens: before.servedTokens, lastSequence: before.lastSequence });
    // Replay protection survived: the session's first request, signed again, is refused.
    expect(await neverSigningClient(config.url, session)("In the beginning", 20)).toMatchObject({ status: 409, code: "session_replayed" });

    await chat(session, { messages: [{ role: "user", content: "And the evening" }], maxTokens: 20 });
    const settlement = await closeSession(walletFor(network, demoKeys.user), { session });
    expect(settlement.provenTokens).toBe(session.cumulativeTokens);
    expect(settlement.payment).toBe(session.cumulativeTokens * session.pricePerToken);
    expect(await host.sigint()).toBe(0);
  }, 90_000);
});
