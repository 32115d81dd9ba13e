import { describe, expect, it } from "vitest";
import { sessionErrorCodes } from "@session-jobs/protocol";
import { HostResponseError, parseHostError, SessionHostError, SessionNotActiveError, SessionReceiptOverdueError, SessionReplayedError } from "./host.ts";
import { BaseError } from "./base.ts";

describe("parseHostError", () => {
  it("gives every protocol code its own error class", () => {
    const classes = sessionErrorCodes.map((code) => {
      const error = parseHostError({ status: 409, url: "http://h/v1/chat/completions", body: JSON.stringify({ error: { message: "no", code } }) });
      expect(error).toBeInstanceOf(SessionHostError);
      expect(error).toBeInstanceOf(BaseError);
      expect(error.code).toBe(code);
      expect(error.details).toBe("no");
      return error.name;
    });
    expect(new Set(classes).size).toBe(sessionErrorCodes.length);
  });

  it("keeps status and code on a typed error", () => {
    const error = parseHostError({ status: 402, url: "u", body: '{"error":{"message":"sign first","code":"session_receipt_overdue"}}' });
    expect(error).toBeInstanceOf(SessionReceiptOverdueError);
    expect(error.status).toBe(402);
    expect(error.shortMessage).toMatch(/checkpoint interval/);
  });

  it("falls back to HostResponseError for unknown codes and non-JSON bodies", () => {
    const unknown = parseHostError({ status: 503, url: "u", body: '{"error":{"message":"later","code":"chain_unavailable"}}' });
    expect(unknown).toBeInstanceOf(HostResponseError);
    expect(unknown.code).toBe("chain_unavailable");
    const html = parseHostError({ status: 502, url: "u", body: "<html>Bad gateway</html>" });
    expect(html).toBeInstanceOf(HostResponseError);
    expect(html.details).toBe("<html>Bad gateway</html>");
  });

  it("reads a close under way from session_not_active's reason, not from its words, with the Retry-After in ms", () => {
    const body = (reason?: unknown) => JSON.stringify({ error: { message: "session 7 is closing", code: "session_not_active", reason } });
    const closing = parseHostError({ status: 409, url: "u", body: body("closing"), retryAfter: "1" });
    expect(closing).toBeInstanceOf(SessionNotActiveError);
    expect(closing).toMatchObject({ closing: true, reason: "closing", retryAfterMs: 1000, shortMessage: "A close of the session is under way." });
    // An older host says the same words with no reason: an ordinary session_not_active.
    expect(parseHostError({ status: 409, url: "u", body: body() })).toMatchObject({ closing: false, reason: undefined, retryAfterMs: undefined });
    expect(parseHostError({ status: 409, url: "u", body: body(["closing"]) })).toMatchObject({ closing: false, reason: undefined });
    expect((parseHostError({ status: 409, url: "u", body: body("x".repeat(10_000)) }) as SessionHostError).reason).toHaveLength(100);
    for (const retryAfter of ["Wed, 21 Oct 2015 07:28:00 GMT", "-1", "1.5", "", "9".repeat(20)])
      expect(parseHostError({ status: 409, url: "u", body: body("closing"), retryAfter })).toMatchObject({ retryAfterMs: undefined });
  });
});

describe("SessionReplayedError", () => {
  it("says another copy of the session is in use and that syncSession catches a restored copy up, in one line", () => {
    const body = JSON.stringify({ error: { message: "sequence 4 is not above 5", code: "session_replayed" } });
    const error = parseHostError({ status: 409, url: "http://host/v1/chat/completions", body }) as SessionReplayedError;
    expect(error).toBeInstanceOf(SessionReplayedError);
    expect(error.shortMessage).not.toContain("\n");
    expect(error.shortMessage).toMatch(/another copy of this session \(a second process or an old saved copy\) is in use/);
    expect(error.shortMessage).toMatch(/call syncSession before reusing a restored copy/);
    expect(error.details).toBe("sequence 4 is not above 5");
  });
});
