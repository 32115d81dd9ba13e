import { existsSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { builtinModules } from "node:module";
import type { AddressInfo } from "node:net";
import { build, type Plugin } from "esbuild";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { serializeSession } from "./session/serialization.ts";
import type { Session } from "./session/types.ts";
import { startOffChainSession } from "./testUtils/offChainSession.ts";
import type { TestHost } from "./testUtils/testHost.ts";

// The web app builds on this SDK: its entry must bundle for the browser without any Node
// builtin, and (where Debian's chromium is installed; no browser is ever downloaded) a real
// browser runs a chat, a stream, signing, receipts and serialization with it.

const nodeBuiltins = new Set([...builtinModules, ...builtinModules.map((name) => `node:${name}`)]);
/** Fails the build on any import of a Node builtin, naming the importer. */
const refuseNodeBuiltins: Plugin = {
  name: "refuse-node-builtins",
  setup(builder) {
    builder.onResolve({ filter: /.*/ }, (args) =>
      nodeBuiltins.has(args.path) ? { errors: [{ text: `${args.importer} imports the Node builtin ${args.path}` }] } : undefined,
    );
  },
};

async function bundleForBrowser(): Promise<string> {
  const result = await build({
    entryPoints: [new URL("./index.ts", import.meta.url).pathname],
    bundle: true,
    platform: "browser",
    // The workspace packages' TypeScript sources, as in every test: nothing needs building first.
    conditions: ["@session-jobs/source"],
    format: "esm",
    write: false,
    logLevel: "silent",
    plugins: [refuseNodeBuiltins],
  });
  return result.outputFiles[0]!.text;
}

describe("the SDK in a browser", () => {
  let bundle: string;
  beforeAll(async () => {
    bundle = await bundleForBrowser();
  }, 60_000);

  it("bundles for platform browser with no Node builtin on any path of its entry", () => {
    expect(bundle).toContain("createSessionFetch");
    expect(bundle).not.toMatch(/from\s*["']node:/);
  });

  const chromium = "/usr/bin/chromium";
  describe.skipIf(!existsSync(chromium))("in Debian's chromium (playwright-core, no download)", () => {
    let host: TestHost;
    let session: Session;
    let site: Server;
    let origin: string;
    beforeAll(async () => {
      ({ session, host } = await startOffChainSession());
      // One origin for the page and the host (the double sends no CORS headers): /v1 is proxied.
      const serve = async (request: IncomingMessage, response: ServerResponse) => {
        if (request.url === "/") return void response.writeHead(200, { "content-type": "text/html" }).end("<!doctype html><title>sdk</title>");
        if (request.url === "/sdk.js") return void response.writeHead(200, { "content-type": "text/javascript" }).end(bundle);
        const chunks: Buffer[] = [];
        for await (const chunk of request) chunks.push(chunk as Buffer);
        const headers = Object.fromEntries(Object.entries(request.headers).filter(([name]) => name !== "host" && name !== "connection")) as Record<
          string,
          string
        >;
        const upstream = await fetch(`${host.url}${request.url}`, {
          method: request.method,
          headers,
          body: request.method === "GET" ? undefined : Buffer.concat(chunks),
        });
        response.writeHead(upstream.status, Object.fromEntries(upstream.headers));
        for await (const chunk of upstream.body ?? []) response.write(chunk);
        response.end();
      };
      site = createServer((request, response) => void serve(request, response).catch(() => response.destroy()));
      await new Promise<void>((resolve) => site.listen(0, "127.0.0.1", resolve));
      origin = `http://127.0.0.1:${(site.address() as AddressInfo).port}`;
    });
    afterAll(async () => {
      site?.closeAllConnections();
      await new Promise((resolve) => site?.close(resolve));
      await host?.stop();
    });

    it("chats, streams and signs receipts with the bundled SDK", async () => {
      const { chromium: launcher } = await import("playwright-core");
      const browser = await launcher.launch({ executablePath: chromium, args: ["--no-sandbox", "--headless=new"] });
      try {
        const page = await browser.newPage();
        await page.goto(origin);
        const saved = serializeSession({ ...session, hostUrl: origin });
        // A string, not a function: Vitest rewrites `import()` inside test code.
        const script = `(async () => {
          const sdk = await import("${origin}/sdk.js");
          const restored = sdk.deserializeSession(${JSON.stringify(saved)});
          const answer = await sdk.chat(restored, { messages: [{ role: "user", content: "In the beginning" }], maxTokens: 4 });
          let streamed = "";
          const stream = sdk.streamChat(restored, { messages: [{ role: "user", content: "And God said" }], maxTokens: 3 });
          for await (const delta of stream) streamed += delta;
          const result = await stream.result;
          return { text: answer.text, streamed, cumulativeTokens: String(result.cumulativeTokens), delivered: result.receipt.delivered, resumed: sdk.serializeSession(restored) };
        })()`;
        const outcome = await page.evaluate<{ text: string; streamed: string; cumulativeTokens: string; delivered: boolean; resumed: string }>(script);
        expect(outcome.text.length).toBeGreaterThan(0);
        expect(outcome.streamed.length).toBeGreaterThan(0);
        expect(outcome.delivered).toBe(true);
        expect(host.receipts.get(1n)?.cumulativeTokens).toBe(BigInt(outcome.cumulativeTokens));
        expect(JSON.parse(outcome.resumed)).toMatchObject({ cumulativeTokens: outcome.cumulativeTokens });
      } finally {
        await browser.close();
      }
    }, 90_000);
  });
});
