import type { HostRetry } from "@session-jobs/sdk";
import { describe, expect, it } from "vitest";
import { closeWaitingText, retrying } from "./closeProgress.ts";

const retry: HostRetry = { attempt: 1, waitedMs: 20_500, hostTimeoutMs: 60_000, retryInMs: 500, error: new Error("ECONNREFUSED") };

describe("what a pending close says it waits for", () => {
  it("while the host does not answer: asked again until the close's bound, counted from the retry", () => {
    const progress = retrying(retry, 1_000_000);
    expect(progress).toEqual({ stage: "retrying", retry, endsAt: 1_000_000 + 39_500 });
    expect(closeWaitingText(progress, undefined)).toBe(
      "The host does not answer (it may be restarting): asking it again for up to 40 s; then your wallet settles on chain for what the host has proven.",
    );
  });

  it("once the host answered, or the bound passed, no longer that the host does not answer", () => {
    const answered = closeWaitingText({ stage: "hostSettling" }, undefined);
    const walletSettles = closeWaitingText({ stage: "walletSettling" }, undefined);
    expect(answered).toBe("The host answered and sent its settlement: waiting for the chain to confirm it.");
    expect(walletSettles).toBe("The host did not settle in time: your wallet settles on chain for what the host has proven.");
    for (const text of [answered, walletSettles]) expect(text).not.toMatch(/does not answer|asking it again/);
  });

  it("before any retry: the host's minute, or a forced close's last seconds", () => {
    expect(closeWaitingText({ stage: "host" }, undefined)).toMatch(/^Waiting for the host to settle \(at most a minute\)/);
    expect(closeWaitingText({ stage: "host" }, 15)).toBe("Giving the host 15 s more to settle; then your wallet settles on chain.");
  });
});
