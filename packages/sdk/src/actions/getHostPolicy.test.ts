import { describe, expect, it } from "vitest";
import { HostUnreachableError, InvalidHostUrlError } from "../errors/host.ts";
import { startOffChainSession } from "../testUtils/offChainSession.ts";
import { hostTransports } from "../testUtils/transports.ts";
import { chat } from "./chat.ts";
import { getHostPolicy } from "./getHostPolicy.ts";

describe("a host URL that is not an http(s) URL", () => {
  const notHttp = "is not an http(s) URL without a user name or password";
  const refused: [hostUrl: string, problem: string][] = [
    ["not a url", notHttp],
    ["ftp://host.example", notHttp],
    ["127.0.0.1:8080", notHttp],
    ["javascript:alert(1)", notHttp],
    // fetch refuses credentials in a URL: the request would fail as if the host were down.
    ["http://user:secret@127.0.0.1:8080", notHttp],
    // Paths are appended to the base URL: after a query or a fragment they would never reach the host's routes.
    ["http://127.0.0.1:8080?x=1", "has a query or a fragment, which the paths sent to it would come after"],
    ["http://127.0.0.1:8080#v1", "has a query or a fragment, which the paths sent to it would come after"],
    // The URL parser trims it, but an endpoint built from it would not parse.
    ["http://127.0.0.1:8080 ", "has spaces around it"],
  ];
  for (const [hostUrl, problem] of refused)
    it(`getHostPolicy says ${JSON.stringify(hostUrl)} cannot be a host's URL, in one line with a hint, and sends nothing`, async () => {
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
        shortMessage: `The host URL ${JSON.stringify(hostUrl)} ${problem}.`,
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
