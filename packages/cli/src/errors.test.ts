import { SessionCloseInProgressError } from "@session-jobs/sdk";
import { describe, expect, it } from "vitest";
import { formatError } from "./errors.ts";

describe("formatError", () => {
  it("prints an SDK error that carries a hint as one line and the hint (session-jobs client close while another close is under way)", () => {
    const error = new SessionCloseInProgressError({ jobId: 7n, waitedMs: 60_000 });
    expect(formatError(error, false).split("\n")).toEqual([
      "Another close of session 7 is under way and did not settle within 60000 ms.",
      `  hint: ${error.hint}`,
    ]);
  });
});
