import { Writable } from "node:stream";
import { getHostInfo, getSession, getSettlement, hostEarningsAbi, marketplaceAbi, nodeRegistryWithModelsAbi } from "@session-jobs/sdk";
import { startWebDemo, type WebDemo } from "@session-jobs/cli/web-demo";
import { pacedBackend } from "@session-jobs/inference";
import type { Browser, Page } from "playwright-core";
import { createTestClient, createWalletClient, erc20Abi, formatUnits, getAddress, http, parseEventLogs, zeroAddress, type Address } from "viem";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eth, formatAmount, usdcAsset } from "../src/format.ts";
import { launchChromium, screenshot, viewports } from "./browser.ts";

// End to end on a local anvil with the embedded model, in Debian's Chromium: the page a user sees.
// The package's test script builds the app first; screenshots land in test-results/screenshots/.
const quiet = new Writable({ write: (_chunk, _encoding, done) => done() });
let demo: WebDemo;
/** Pause per streamed delta: the embedded model can finish an answer before a click lands. */
const pace = { ms: 0 };
let browser: Browser;
let page: Page;

beforeAll(async () => {
  const { createLogger } = await import("@session-jobs/cli/common");
  demo = await startWebDemo(
    { env: process.env, logger: createLogger(quiet, quiet), signal: new AbortController().signal, debug: false },
    {
      build: false,
      wrapBackend: (model) => pacedBackend(model, () => pace.ms),
    },
  );
  browser = await launchChromium();
  page = await (await browser.newContext({ viewport: viewports.laptop })).newPage();
  // The page's own errors belong in the test output.
  page.on("pageerror", (error) => console.error(`page error: ${error.message}\n${error.stack}`));
  page.on("console", (message) => message.type() === "error" && console.error(`page console: ${message.text()}`));
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await demo?.stop();
});

const assistantMessages = () => page.getByTestId("message-assistant");
const sendButton = () => page.getByRole("button", { name: "Send" });

async function ask(prompt: string): Promise<void> {
  const before = await assistantMessages().count();
  await page.getByLabel("Message").fill(prompt);
  await sendButton().click();
  await expect.poll(() => assistantMessages().count()).toBe(before + 1);
  await page.getByRole("button", { name: "Stop" }).waitFor({ state: "detached", timeout: 120_000 });
  // Once an answer is done the meter has asked the host again: it never shows fewer served than signed.
  const count = async (testId: string) => Number(((await page.getByTestId(testId).textContent()) ?? "").replace(/,/g, ""));
  expect(await count("served")).toBeGreaterThanOrEqual(await count("signed"));
}

/** The settlement shown must equal the chain's numbers, and every check must pass. */
async function expectSettlementMatchesChain(token: "usdc" | "eth"): Promise<void> {
  await page.getByTestId("settlement").waitFor({ timeout: 120_000 });
  const jobId = BigInt((await page.getByTestId("settlement").locator("h2").textContent())!.match(/#(\d+)/)![1]!);
  const marketplace = demo.network.deployment.jobMarketplace;
  const settlement = (await getSettlement(demo.network.publicClient, { marketplace, jobId }))!;
  const onChain = await getSession(demo.network.publicClient, { marketplace, jobId });
  expect(onChain.status).toBe("completed");
  const asset = token === "usdc" ? usdcAsset(demo.network.deployment.usdc!) : eth;
  // Every digit, written independently of the app's formatter.
  const exact = (value: bigint) => `${formatUnits(value, asset.decimals)} ${asset.symbol}`;
  await expect.poll(() => page.getByTestId("settlement-payment").textContent()).toBe(exact(settlement.payment));
  expect(await page.getByTestId("settlement-host").textContent()).toBe(exact(settlement.hostEarnings));
  expect(await page.getByTestId("settlement-treasury").textContent()).toBe(exact(settlement.treasuryFee));
  expect(await page.getByTestId("settlement-refund").textContent()).toBe(exact(settlement.refund));
  expect(await page.getByTestId("settlement-proven").textContent()).toBe(Number(settlement.provenTokens).toLocaleString("en-US"));
  expect(settlement.payment).toBe(onChain.provenTokens * onChain.pricePerToken);
  await expect.poll(() => page.getByTestId("settlement-checks").locator("li.bad").count()).toBe(0);
  expect(await page.getByTestId("settlement-checks").locator("li.ok").count()).toBeGreaterThanOrEqual(5);
}

describe("the web app in Chromium", () => {
  it("connects the dev wallet and lists the host with its price and health", async () => {
    await page.goto(demo.url);
    await page.getByRole("button", { name: "Connect wallet" }).click();
    await screenshot(page, "01-connect");
    await page.getByRole("menuitem", { name: /Local dev wallet/ }).click();
    await page.getByTestId("account").waitFor();
    await expect.poll(() => page.getByTestId("host-card").first().textContent()).toMatch(/online · \d+ ms/);
    expect(await page.getByTestId("host-card").first().textContent()).toContain("1.5 USDC per 1k tokens");
    // The host's on-chain terms: the largest checkpoint interval it accepts, and a default within it.
    const terms = await getHostInfo(demo.network.publicClient, { nodeRegistry: demo.network.deployment.nodeRegistry, host: demo.host.node.address });
    expect(await page.getByTestId("host-max-interval").first().textContent()).toBe(
      `checkpoints ≤ ${Number(terms.maxCheckpointInterval).toLocaleString("en-US")} tokens`,
    );
    await expect.poll(() => page.getByLabel(/Checkpoint every/).inputValue()).toBe("100");
    expect(terms.maxCheckpointInterval).toBeGreaterThanOrEqual(100n);
    await screenshot(page, "02-choose-host");
  }, 60_000);

  it("shows a readable error for a price below the host's minimum", async () => {
    await page.getByLabel(/Your price/).fill("1");
    await page.getByRole("button", { name: /Open session/ }).click();
    await expect.poll(() => page.getByRole("alert").textContent()).toBe("The host's minimum is 1.5 USDC per 1k tokens; raise your price.");
    await screenshot(page, "03-price-below-minimum");
    await page.getByLabel(/Your price/).fill("1.5");
  }, 60_000);

  it("keeps the checkpoint interval within the host's terms, with a readable sentence above them", async () => {
    const terms = await getHostInfo(demo.network.publicClient, { nodeRegistry: demo.network.deployment.nodeRegistry, host: demo.host.node.address });
    await page.getByLabel(/Checkpoint every/).fill(String(terms.maxCheckpointInterval + 1n));
    const sentence = `This host takes a checkpoint every ${Number(terms.maxCheckpointInterval).toLocaleString("en-US")} tokens at most.`;
    await expect.poll(() => page.getByRole("button", { name: sentence }).isDisabled()).toBe(true);
    await screenshot(page, "03b-interval-above-host-max");
    await page.getByLabel(/Checkpoint every/).fill("100");
  }, 60_000);

  it("shows the host's minimum deposit beside its largest interval, and will not open below it", async () => {
    const { nodeRegistry } = demo.network.deployment;
    const host = demo.host.node.address;
    /** anvil signs for its own accounts (the demo host is one): no key in the test. */
    const setMinDeposit = async (amount: bigint) => {
      const hash = await createWalletClient({ account: host, transport: http(demo.network.anvil.rpcUrl) }).writeContract({
        address: nodeRegistry,
        abi: nodeRegistryWithModelsAbi,
        functionName: "updateMinDeposit",
        args: [demo.network.deployment.usdc!, amount],
        chain: null,
      });
      expect((await demo.network.publicClient.waitForTransactionReceipt({ hash })).status).toBe("success");
      // The host list is read per asset: choosing USDC again reads it anew.
      await page.getByRole("radio", { name: "ETH", exact: true }).click();
      await page.getByRole("radio", { name: "USDC", exact: true }).click();
    };
    await setMinDeposit(6_000_000n);
    try {
      await expect.poll(() => page.getByTestId("host-min-deposit").first().textContent()).toBe("deposit ≥ 6 USDC");
      expect(await page.getByTestId("estimate").textContent()).toContain("This host's minimum deposit is 6 USDC.");
      await expect.poll(() => page.getByRole("button", { name: "This host's minimum deposit is 6 USDC." }).isDisabled()).toBe(true);
      await screenshot(page, "03c-deposit-below-host-minimum");
    } finally {
      await setMinDeposit(0n);
    }
    await expect.poll(() => page.getByTestId("host-min-deposit").count()).toBe(0);
    await expect.poll(() => page.getByRole("button", { name: /Open session with 5 USDC/ }).isEnabled()).toBe(true);
  }, 60_000);

  it("opens a USDC session, chats three prompts and sees a checkpoint proof land", async () => {
    await page.getByRole("button", { name: /Open session with 5 USDC/ }).click();
    await page.getByTestId("meter").waitFor({ timeout: 60_000 });
    await screenshot(page, "04-session-open");
    await ask("Tell me about the beginning.");
    await ask("And what came next?");
    await ask("Tell me *more*, in a list. <img src=x onerror=alert(1)>");
    await page.getByTestId("proof").first().waitFor({ timeout: 120_000 });
    expect(await page.getByTestId("proof").first().textContent()).toMatch(/tokens.*gas.*0x/);
    // No markup from the prompt or the answer became an element.
    expect(await page.locator(".messages img").count()).toBe(0);
    expect(Number((await page.getByTestId("proven").textContent())!.replace(/,/g, ""))).toBeGreaterThan(0);
    await screenshot(page, "05-three-prompts-checkpoint");
  }, 300_000);

  it("stops an answer mid-stream, and the host bills only what it wrote", async () => {
    await page.getByLabel("Longest answer").selectOption("2000");
    pace.ms = 100;
    // The model may end an answer on its own before the click lands; then ask again (bounded).
    let stopped = false;
    for (let attempt = 0; attempt < 3 && !stopped; attempt++) {
      const before = await assistantMessages().count();
      await page.getByLabel("Message").fill("Tell me a very long story about the kings of old.");
      await sendButton().click();
      await expect.poll(() => assistantMessages().count()).toBe(before + 1);
      const answer = assistantMessages().last();
      await expect.poll(async () => ((await answer.textContent()) ?? "").replace("…", "").length, { timeout: 60_000, interval: 20 }).toBeGreaterThan(0);
      const clicked = await page
        .getByRole("button", { name: "Stop" })
        .click({ timeout: 5_000 })
        .then(
          () => true,
          () => false,
        );
      // Whether the click landed before the answer ended: then the answer is marked stopped.
      await page.getByRole("button", { name: "Stop" }).waitFor({ state: "detached", timeout: 120_000 });
      stopped = clicked && (await answer.getByText("stopped").count()) === 1;
    }
    pace.ms = 0;
    expect(stopped).toBe(true);
    // After the stop, the session key signed exactly what the host says it served.
    await expect
      .poll(async () => [await page.getByTestId("served").textContent(), await page.getByTestId("signed").textContent()], { timeout: 30_000 })
      .toSatisfy(([served, signed]) => served === signed);
    await screenshot(page, "06-stopped");
  }, 300_000);

  it("resumes the same session after a reload and goes on", async () => {
    const jobTitle = await page.getByTestId("meter").locator("h3").textContent();
    const lines = await page.getByTestId("messages").locator(".message").count();
    await page.reload();
    await page.getByTestId("meter").waitFor();
    expect(await page.getByTestId("meter").locator("h3").textContent()).toBe(jobTitle);
    expect(await page.getByTestId("messages").locator(".message").count()).toBe(lines);
    await ask("Go on.");
    expect(((await assistantMessages().last().textContent()) ?? "").length).toBeGreaterThan(0);
    expect(await assistantMessages().last().locator(".error").count()).toBe(0);
    await screenshot(page, "07-resumed");
  }, 180_000);

  it("closes the session; the settlement shown equals the chain's", async () => {
    await page.getByRole("button", { name: "Close session and settle" }).click();
    await expectSettlementMatchesChain("usdc");
    await screenshot(page, "08-settled");
  }, 180_000);

  it("runs an ETH session from open to checked settlement", async () => {
    await page.getByRole("button", { name: "Start another session" }).click();
    await page.getByRole("radio", { name: "ETH" }).click();
    await page.getByRole("button", { name: /Open session with 0.01 ETH/ }).click();
    await page.getByTestId("meter").waitFor({ timeout: 60_000 });
    await ask("Who was first?");
    await page.getByRole("button", { name: "Close session and settle" }).click();
    await expectSettlementMatchesChain("eth");
    await screenshot(page, "09-eth-settled");
  }, 240_000);

  it("lists both sessions under My sessions", async () => {
    await page.getByRole("button", { name: "My sessions" }).click();
    await expect.poll(() => page.getByTestId("my-session").count(), { timeout: 30_000 }).toBe(2);
    await screenshot(page, "10-my-sessions");
  }, 60_000);

  it("shows the host dashboard, read-only, with both sessions, the proofs and the earnings", async () => {
    await page.getByRole("button", { name: "Host", exact: true }).click();
    await expect.poll(() => page.getByTestId("host-session").count(), { timeout: 30_000 }).toBe(2);
    expect(await page.getByTestId("host-proof").count()).toBeGreaterThanOrEqual(1);
    expect(await page.getByTestId("host-proof").first().textContent()).toMatch(/#\d+ · [\d,]+ tokens[\d,]+ gas0x/);
    const host = demo.host.node.address;
    const { hostEarningsAbi } = await import("@session-jobs/sdk");
    const earned = await demo.network.publicClient.readContract({
      address: demo.network.deployment.hostEarnings,
      abi: hostEarningsAbi,
      functionName: "getBalance",
      args: [host, demo.network.deployment.usdc!],
    });
    expect(await page.getByTestId("earnings-USDC").textContent()).toBe(formatAmount(earned, usdcAsset(demo.network.deployment.usdc!)));
    expect(await page.getByText(/Read-only/).count()).toBe(1);
    await screenshot(page, "11-host-dashboard");
  }, 60_000);
});

// The host's side, on the page the host node serves itself at /dashboard/, and the user's two ways
// out of a session the host left: time out, and a refund the chain could not push.
describe("the host node's dashboard, and sessions a host left", () => {
  let hostPage: Page;
  const cspViolations: string[] = [];
  const rpc = () => demo.network.anvil.rpcUrl;
  const chain = () => createTestClient({ mode: "anvil", transport: http(rpc()) });
  /** anvil signs for its own accounts: no key in the test. */
  const walletOf = (account: Address) => createWalletClient({ account, transport: http(rpc()) });
  const hostInfo = () => getHostInfo(demo.network.publicClient, { nodeRegistry: demo.network.deployment.nodeRegistry, host: demo.host.node.address });

  beforeAll(async () => {
    hostPage = await (await browser.newContext({ viewport: viewports.laptop })).newPage();
    hostPage.on("pageerror", (error) => console.error(`dashboard page error: ${error.message}`));
    hostPage.on("console", (message) => {
      if (message.type() === "error" && /Content Security Policy/i.test(message.text())) cspViolations.push(message.text());
    });
  });

  it("is served by the host node: that host's sessions, a proof with its gas, health, read-only", async () => {
    expect(demo.host.node.dashboardUrl).toBe(`${demo.host.node.url}/dashboard/`);
    // Until its deployment JSON arrives the page says it is loading (held here to look at it).
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    await hostPage.route("**/deployment.json", async (route) => {
      await held;
      await route.continue();
    });
    await hostPage.goto(demo.host.node.dashboardUrl!);
    expect(await hostPage.getByRole("status").textContent()).toBe("Loading Session Jobs…");
    await screenshot(hostPage, "12a-loading");
    release();
    await hostPage.getByTestId("host-dashboard").waitFor();
    await hostPage.unroute("**/deployment.json");
    expect(await hostPage.getByTestId("dashboard-host").getAttribute("title")).toBe(demo.host.node.address);
    await expect.poll(() => hostPage.getByTestId("host-session").count(), { timeout: 30_000 }).toBe(2);
    expect(await hostPage.getByTestId("host-proof").first().textContent()).toMatch(/#\d+ · [\d,]+ tokens[\d,]+ gas0x[0-9a-f]+…[0-9a-f]+[\d.]+ ETH/);
    await expect.poll(() => hostPage.getByTestId("host-health").textContent(), { timeout: 30_000 }).toBe("Ready");
    expect(await hostPage.getByTestId("host-checks").textContent()).toMatch(/rpc: ok.*backend: ok/);
    // Proven on the page = proven on chain, per session.
    const jobs = await hostPage.getByTestId("host-session").locator("td:first-child").allTextContents();
    const proven = await hostPage.getByTestId("host-session-proven").allTextContents();
    for (const [index, job] of jobs.entries()) {
      const onChain = await getSession(demo.network.publicClient, { marketplace: demo.network.deployment.jobMarketplace, jobId: BigInt(job.slice(1)) });
      expect(proven[index]).toBe(Number(onChain.provenTokens).toLocaleString("en-US"));
    }
    expect(await hostPage.getByText(/Read-only/).count()).toBe(1);
    expect(await hostPage.getByTestId("host-controls").count()).toBe(0);
    expect(cspViolations).toEqual([]);
    await screenshot(hostPage, "12-host-served-dashboard");
  }, 60_000);

  it("with the host's wallet: updates the USDC price and the terms, and the chain says so", async () => {
    await hostPage.getByRole("button", { name: "Connect wallet" }).click();
    await hostPage.getByRole("menuitem", { name: /Local dev wallet/ }).click();
    await hostPage.getByTestId("host-controls").waitFor();
    expect(await hostPage.getByTestId("account").getAttribute("title")).toBe(demo.host.node.address);
    // A price the registry refuses is one sentence, before any wallet prompt.
    await hostPage.getByLabel("Minimum price (USDC per 1k tokens)").fill("500");
    await hostPage.getByRole("button", { name: "Update USDC price" }).click();
    expect(await hostPage.getByRole("alert").textContent()).toBe("Type a price from 0.1 USDC per 1k tokens to 100 USDC per 1k tokens.");
    await hostPage.getByLabel("Minimum price (USDC per 1k tokens)").fill("2");
    await hostPage.getByRole("button", { name: "Update USDC price" }).click();
    await expect.poll(() => hostPage.getByTestId("host-control-done").textContent(), { timeout: 30_000 }).toBe("Your minimum is now 2 USDC per 1k tokens.");
    expect((await hostInfo()).minPricePerToken).toBe(2000n);
    await expect.poll(() => hostPage.getByTestId("host-price-USDC").textContent()).toBe("2 USDC per 1k tokens");
    await hostPage.getByLabel("Largest checkpoint interval (tokens)").fill("500");
    await hostPage.getByRole("button", { name: "Update terms" }).click();
    await expect
      .poll(() => hostPage.getByTestId("host-control-done").textContent(), { timeout: 30_000 })
      .toBe("Sessions may now checkpoint every 500 tokens at most.");
    expect((await hostInfo()).maxCheckpointInterval).toBe(500n);
    await expect.poll(() => hostPage.getByTestId("host-terms").textContent()).toBe("checkpoints ≤ 500 tokens");
    await screenshot(hostPage, "13-host-pricing-terms-updated");
  }, 90_000);

  it("with the host's wallet: withdraws the USDC earnings, and the balances move", async () => {
    const host = demo.host.node.address;
    const usdc = demo.network.deployment.usdc!;
    const earned = await demo.network.publicClient.readContract({
      address: demo.network.deployment.hostEarnings,
      abi: hostEarningsAbi,
      functionName: "getBalance",
      args: [host, usdc],
    });
    expect(earned).toBeGreaterThan(0n);
    const before = await demo.network.publicClient.readContract({ address: usdc, abi: erc20Abi, functionName: "balanceOf", args: [host] });
    await hostPage.getByRole("button", { name: `Withdraw ${formatAmount(earned, usdcAsset(usdc))}` }).click();
    await expect
      .poll(() => hostPage.getByTestId("host-control-done").textContent(), { timeout: 30_000 })
      .toBe(`Withdrew ${formatAmount(earned, usdcAsset(usdc))} to your wallet.`);
    expect(
      await demo.network.publicClient.readContract({
        address: demo.network.deployment.hostEarnings,
        abi: hostEarningsAbi,
        functionName: "getBalance",
        args: [host, usdc],
      }),
    ).toBe(0n);
    expect(await demo.network.publicClient.readContract({ address: usdc, abi: erc20Abi, functionName: "balanceOf", args: [host] })).toBe(before + earned);
    await expect.poll(() => hostPage.getByTestId("earnings-USDC").textContent()).toBe("0 USDC");
    await screenshot(hostPage, "14-host-withdrawn");
  }, 90_000);

  it("lets the user time out a session whose host vanished, and withdraw a refund the chain could not push", async () => {
    const user = (await page.getByTestId("account").getAttribute("title")) as Address;
    const marketplace = demo.network.deployment.jobMarketplace;
    const deposit = 10n ** 16n;
    const open = async () => {
      const hash = await walletOf(user).writeContract({
        chain: null,
        address: marketplace,
        abi: marketplaceAbi,
        functionName: "createSessionJob",
        args: [demo.host.node.address, 10_000_000_000n, 3_600n, 100n],
        value: deposit,
      });
      const receipt = await demo.network.publicClient.waitForTransactionReceipt({ hash });
      return parseEventLogs({ abi: marketplaceAbi, logs: receipt.logs, eventName: "SessionJobCreated" })[0]!.args.jobId;
    };
    // Two ETH sessions; the host never serves them, and their hour passes.
    const vanished = await open();
    const unpushable = await open();
    await chain().increaseTime({ seconds: 3_601 });
    await chain().mine({ blocks: 1 });
    // While the user's address refuses ETH (code that reverts), someone else times out the second:
    // the marketplace cannot push the refund and keeps it in pendingRefunds.
    await chain().setCode({ address: user, bytecode: "0x60006000fd" });
    // anvil's first account (the deployer).
    const someone = walletOf(getAddress("0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266"));
    await demo.network.publicClient.waitForTransactionReceipt({
      hash: await someone.writeContract({ chain: null, address: marketplace, abi: marketplaceAbi, functionName: "triggerSessionTimeout", args: [unpushable] }),
    });
    await chain().setCode({ address: user, bytecode: "0x" });
    const pending = () =>
      demo.network.publicClient.readContract({ address: marketplace, abi: marketplaceAbi, functionName: "pendingRefunds", args: [user, zeroAddress] });
    expect(await pending()).toBe(deposit);

    await page.getByRole("button", { name: "My sessions" }).click();
    const row = page.getByTestId("my-session").filter({ hasText: `#${vanished}` });
    await expect.poll(() => row.textContent(), { timeout: 30_000 }).toContain("past max duration");
    await screenshot(page, "15-time-out-and-refund");
    await row.getByRole("button", { name: "Time out" }).click();
    await expect.poll(async () => (await getSession(demo.network.publicClient, { marketplace, jobId: vanished })).status, { timeout: 30_000 }).toBe("timedOut");
    await expect.poll(() => row.textContent(), { timeout: 30_000 }).not.toContain("past max duration");

    const before = await demo.network.publicClient.getBalance({ address: user });
    await page.getByRole("button", { name: "Withdraw", exact: true }).click();
    await expect.poll(pending, { timeout: 30_000 }).toBe(0n);
    // The refund arrived, less the gas of the withdrawal.
    expect(await demo.network.publicClient.getBalance({ address: user })).toBeGreaterThan(before + deposit - 10n ** 15n);
    await expect.poll(() => page.getByText(/could not be sent automatically/).count(), { timeout: 30_000 }).toBe(0);
    await screenshot(page, "16-timed-out-refund-withdrawn");
  }, 120_000);
});
