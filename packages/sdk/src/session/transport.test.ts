import { describe, expect, it } from "vitest";
import { sessionEndpoints } from "@session-jobs/protocol";
import { startOffChainSession } from "../testUtils/offChainSession.ts";
import { postSigned } from "./transport.ts";

describe("postSigned", () => {
  it("fails its promise, not the call, when the session key cannot sign", async () => {
    const { session, host } = await startOffChainSession();
    try {
      session.sessionKey = "0x1234";
      let sent: Promise<unknown> | undefined;
      expect(() => (sent = postSigned(session, { endpoint: sessionEndpoints.chat, body: new TextEncoder().encode("{}") }))).not.toThrow();
      await expect(sent).rejects.toThrow();
    } finally {
      await host.stop();
    }
  });
});
