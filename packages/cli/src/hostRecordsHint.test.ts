import { HostRecordsGapError, SessionNotActiveError, SessionOutOfSyncError } from "@session-jobs/sdk";
import { describe, expect, it } from "vitest";
import { formatError } from "./errors.ts";
import { hostRecordsError } from "./hostRecordsHint.ts";

const host = { status: 409, url: "http://host.example/v1/chat/completions" };

describe("hostRecordsError", () => {
  it("tells a user whose host lost records (a rolled-back store) to close the session, in one line and a hint", () => {
    const gap = new HostRecordsGapError({
      client: { cumulativeTokens: 153n, transcriptHash: "0xaa" },
      host: { cumulativeTokens: 25n, transcriptHash: "0xbb" },
    });
    expect(formatError(hostRecordsError(gap, 4n), false)).toBe(
      "the host's records of session 4 do not lead to the receipts this client signed (signed for 153 tokens, the host stands at 25)\n" +
        "  hint: the host lost records of this session (its database rolled back?) and cannot go on with it: `session-jobs client close --job 4` settles it, paying the host what it proved on chain and returning the rest of the deposit; tell the host's operator",
    );
    const outOfSync = new SessionOutOfSyncError({ ...host, hostMessage: "the transcript hash is not the session's" });
    const formatted = formatError(hostRecordsError(new Error("wrapped", { cause: outOfSync }), 4n), false);
    expect(formatted).toMatch(
      /^the host refused the request: its records of session 4 are not where this client's receipts are \(the transcript hash is not the session's\)\n {2}hint: run the same command again \(it syncs first\); if it fails again, the host lost records[^\n]+client close --job 4[^\n]+$/,
    );
    // Not the SDK's advice to call syncSession, which the CLI has done.
    expect(formatted).not.toMatch(/syncSession/);
  });

  it("leaves every other error to the caller", () => {
    expect(hostRecordsError(new SessionNotActiveError({ ...host, hostMessage: "closed" }), 4n)).toBeUndefined();
    expect(hostRecordsError(new Error("anything"), 4n)).toBeUndefined();
  });
});
