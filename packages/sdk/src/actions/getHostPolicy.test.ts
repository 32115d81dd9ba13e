import { describe, expect, it } from "vitest";
import { HostUnreachableError, InvalidHostUrlError } from "../errors/host.ts";
import { startOffChainSession } from "../testUtils/offChainSession.ts";
import { hostTransports } from "../testUtils/transports.ts";
import { chat } from "./chat.ts";
import { getHostPolicy } from "./getHostPolicy.ts";

describe("a host URL that is not an http(s) URL", () => {
  for (const hostUrl of ["not a url", "ftp://host.example", "127.0.0.1:8080", "javascript:alert(1)"])
    it(`getHostPolicy says ${JSON.stringify(hostUrl)} is not one, in one line with a hint, and sends nothing`, async () => {
      let sent = 0;
      const counting: typeof fetch = (input, init) => {
        sent++;
        return globalThis.fetch(input, init);
      };
      const error = await getHostPolicy({ hostUrl, fetch: counting }).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(InvalidHostUrlError);
      expect(error).not.toBeInstanceOf(HostUnreachableError);
      expect(error).toMatchObject({
        url: hostUrl,
        shortMessage: `The host URL ${JSON.stringify(hostUrl)} is not an http(s) URL.`,
        hint: expect.stringContaining("http://127.0.0.1:8080"),
      });
      expect((error as InvalidHostUrlError).shortMessage).not.toContain("\n");
      expect(sent).toBe(0);
    });

  for (const [transport, options] of hostTransports)
    it(`${transport}: a session whose saved host URL is not one fails its request with InvalidHostUrlError, not as a host that is down`, async () => {
      const { session, host } = await startOffChainSession();
      try {
        session.hostUrl = "not a url";
        await expect(chat(session, { messages: [{ role: "user", content: "Hello" }], ...options })).rejects.toMatchObject({
          name: "InvalidHostUrlError",
          url: "not a url/v1/chat/completions",
        });
        expect(host.requests).toEqual([]);
      } finally {
        await host.stop();
      }
    });
});
