import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Writable } from "node:stream";
import { appSecurityHeaders } from "@session-jobs/host";
import { startWebDemo, type WebDemo } from "@session-jobs/cli/web-demo";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { appDistDir } from "../server/buildApp.ts";
import { launchChromium, viewports } from "./browser.ts";

// The built app on a static host that sends no security header: the demo's server with its
// headers taken off every answer from the app's origin (Playwright's route). The policy must then
// come from the built index.html itself, and the app must still work under it: it reads the chain,
// opens a session and chats. A page that Playwright serves is on no address space, so Chromium's
// Local Network Access checks (not the policy under test) would refuse its calls to the local chain
// and host: they are off in this browser.
const quiet = new Writable({ write: (_chunk, _encoding, done) => done() });
let demo: WebDemo;
let browser: Browser;
let page: Page;

/** The Content-Security-Policy violations the page reported, as `directive blocked-URI`. */
const violations = () => page.evaluate(() => (window as unknown as { violations: string[] }).violations);

beforeAll(async () => {
  const { createLogger } = await import("@session-jobs/cli/common");
  // Built here: the meta under test is written by the build.
  demo = await startWebDemo({ env: process.env, logger: createLogger(quiet, quiet), signal: new AbortController().signal, debug: false }, { build: true });
  browser = await launchChromium(["--disable-features=LocalNetworkAccessChecks"]);
  const context = await browser.newContext({ viewport: viewports.laptop });
  const appOrigin = new URL(demo.url).origin;
  await context.route(
    (url) => url.origin === appOrigin,
    async (route) => {
      const response = await route.fetch();
      const headers = response.headers();
      delete headers["content-security-policy"];
      delete headers["x-frame-options"];
      await route.fulfill({ response, headers });
    },
  );
  await context.addInitScript(() => {
    const reported: string[] = [];
    (window as unknown as { violations: string[] }).violations = reported;
    document.addEventListener("securitypolicyviolation", (event) => reported.push(`${event.effectiveDirective} ${event.blockedURI}`));
  });
  page = await context.newPage();
  page.on("pageerror", (error) => console.error(`page error: ${error.message}\n${error.stack}`));
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await demo?.stop();
});

describe("the built app's Content-Security-Policy meta", () => {
  it("is the served header's policy less frame-ancestors (a meta cannot carry it), before any script", () => {
    const html = readFileSync(join(appDistDir, "index.html"), "utf8");
    const header = appSecurityHeaders("http: https:")["content-security-policy"]!;
    const meta = /<meta http-equiv="Content-Security-Policy" content="([^"]*)">/.exec(html);
    expect(meta?.[1]?.replaceAll("&#39;", "'")).toBe(header.replace("; frame-ancestors 'none'", ""));
    expect(meta!.index).toBeLessThan(html.indexOf("<script"));
  });

  it("holds in Chromium with no header: the app opens a session and answers, an inline script is refused", async () => {
    const response = await page.goto(demo.url);
    expect(response!.headers()["content-security-policy"]).toBeUndefined();
    await page.getByRole("button", { name: "Connect wallet" }).click();
    await page.getByRole("menuitem", { name: /Local dev wallet/ }).click();
    await page.getByTestId("account").waitFor();
    await page.getByRole("button", { name: /Open session with 5 USDC/ }).click({ timeout: 60_000 });
    await page.getByTestId("meter").waitFor({ timeout: 60_000 });
    await page.getByLabel("Message").fill("In the beginning");
    await page.getByRole("button", { name: "Send" }).click();
    await page.getByTestId("message-assistant").waitFor();
    await page.getByRole("button", { name: "Stop" }).waitFor({ state: "detached", timeout: 120_000 });
    const answer = page.getByTestId("message-assistant").last();
    expect(await answer.locator(".error").count()).toBe(0);
    expect(((await answer.textContent()) ?? "").length).toBeGreaterThan(0);
    expect(await violations()).toEqual([]);

    const inlineRan = await page.evaluate(() => {
      const script = document.createElement("script");
      script.textContent = "window.inlineRan = true";
      document.body.append(script);
      return (window as unknown as { inlineRan?: boolean }).inlineRan === true;
    });
    expect(inlineRan).toBe(false);
    await expect.poll(violations).toEqual(["script-src-elem inline"]);
  }, 300_000);
});
