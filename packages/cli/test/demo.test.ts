import { describe, expect, it } from "vitest";
import { runCli } from "../src/cli.ts";
import { captureStreams } from "./captureStreams.ts";

/** Reads the "tokens proven on chain" line of the settlement table. */
function provenTokens(output: string): number {
  const match = /tokens proven on chain\s+(\d+)/.exec(output);
  if (!match) throw new Error(`no settlement in output:\n${output}`);
  return Number(match[1]);
}

describe("session-jobs demo", () => {
  it.each(["eth", "usdc"])(
    "runs a whole %s session: proofs land mid-conversation and the settlement is exact",
    async (asset) => {
      const { stdout, stderr, streams } = captureStreams();
      // Eight prompts: their prompt tokens alone pass the 100-token interval by the sixth exchange, so a
      // checkpoint falls due before the close however short the sampled answers are.
      const code = await runCli(["demo", "--asset", asset, "--prompts", "8", "--max-tokens", "80"], streams);
      const output = stdout.text();
      expect(code, `${output}\n${stderr.text()}`).toBe(0);
      expect(output).toContain("✔ exact");
      expect(output).not.toContain("MISMATCH");
      expect(output).toMatch(/The user's wallet signed 1 transaction;/);
      expect(output).toMatch(/checkpoint proof 1: \+\d+ tokens, verified=true/);
      const signed = Number(/tokens served and signed for\s+(\d+)/.exec(output)?.[1]);
      expect(provenTokens(output)).toBe(signed);
      expect(output).toMatch(/closed by\s+host/);
    },
    120_000,
  );

  it("refuses a bad option with one line and no stack trace", async () => {
    const { stderr, streams } = captureStreams();
    expect(await runCli(["demo", "--asset", "doge"], streams)).toBe(1);
    expect(stderr.text()).toBe('error: --asset: "doge" is neither eth nor usdc\n');
  });
});
