import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { startAnvil } from "../ts/anvil.ts";

/** Sends one JSON-RPC call to anvil. */
async function rpc(rpcUrl: string, method: string, params: unknown[]): Promise<unknown> {
  const response = await fetch(rpcUrl, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
  });
  return ((await response.json()) as { result: unknown }).result;
}

/** The state files anvil wrote under a cache folder (one sub-folder per run). */
function stateFiles(statesPath: string): number {
  if (!existsSync(statesPath)) return 0;
  return readdirSync(statesPath, { recursive: true }).filter((name) => String(name).endsWith(".json")).length;
}

describe("startAnvil", () => {
  // anvil 1.x writes the state of every block past the few it keeps in memory to disk (~0.2–0.4 MB
  // each), and removes none of it when stopped, by SIGTERM or SIGINT: each run of a test or the demo
  // left up to ~550 MB under ~/.foundry/anvil/tmp (45 GB on one developer's machine).
  it("keeps the states of old blocks in a folder of its own, readable while it runs and removed when it stops", async () => {
    const anvil = await startAnvil();
    try {
      await rpc(anvil.rpcUrl, "anvil_mine", ["0x300"]);
      expect(stateFiles(anvil.statesPath)).toBeGreaterThan(0);
      // An old block's state is read back from that folder.
      const balance = await rpc(anvil.rpcUrl, "eth_getBalance", ["0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266", "0x5"]);
      expect(BigInt(balance as string)).toBe(10_000n * 10n ** 18n);
    } finally {
      await anvil.stop();
    }
    expect(existsSync(anvil.statesPath)).toBe(false);
  });

  it("removes that folder when anvil fails to start", async () => {
    // A temporary folder of this test's own, so that other anvils started meanwhile do not count.
    const parent = mkdtempSync(join(tmpdir(), "anvil-test-"));
    const previous = process.env.TMPDIR;
    process.env.TMPDIR = parent;
    try {
      await expect(startAnvil({ extraArgs: ["--no-such-flag"] })).rejects.toThrow(/anvil exited/);
    } finally {
      if (previous === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = previous;
    }
    expect(readdirSync(parent)).toEqual([]);
    rmSync(parent, { recursive: true });
  });
});
