import OpenAI from "openai";
import { describe, expect, it } from "vitest";
import { createEmbeddedBackend, type ChatBackend } from "@session-jobs/inference";
import { createSessionFetch, openSession, type RecoveredExchange, type Session } from "@session-jobs/sdk";
import { privateKeyToAccount } from "viem/accounts";
import { demoKeys, walletFor } from "../../src/demo/localNetwork.ts";
import { hostView, openUserSession, pacedBackend, waitForAbortedExchange } from "./harness.ts";
import { closeExactly, useHostStack } from "./stack.ts";
import { startTcpProxy, type TcpProxy } from "./tcpProxy.ts";

// The official `openai` client through createSessionFetch, against the real host and contracts:
// whatever breaks an answer off (the client's abort, its timeout and retry, a dropped connection,
// the deposit running out), the next request on the same session succeeds, the host is paid at
// most what it wrote, and closing pays exactly the receipts (payment + refund = deposit).

let model: ChatBackend;
let proxy: TcpProxy | undefined;
/** Pause per streamed delta; `hang`: a non-streamed answer waits until its client has gone. */
const pace = { ms: 5, hang: false };
const stack = useHostStack(
  async () => {
    model = await createEmbeddedBackend();
    const paced: ChatBackend = {
      ...pacedBackend(model, 0),
      stream: (request, options) => pacedStream(request, options),
      async generate(request, options) {
        if (pace.hang) await new Promise((resolve) => options?.signal?.addEventListener("abort", resolve, { once: true }));
        return model.generate(request, options);
      },
    };
    return { backend: paced, extra: { batch: { delayMs: 0 } } };
  },
  { beforeStop: () => proxy?.close(), afterStop: () => model?.close() },
);

/** The embedded model's stream, each delta delayed by `pace.ms` (read at each delta). */
async function* pacedStream(...args: Parameters<ChatBackend["stream"]>) {
  for await (const part of model.stream(...args)) {
    if (part.type === "text-delta" && pace.ms > 0) await new Promise((resolve) => setTimeout(resolve, pace.ms));
    yield part;
  }
}

const greedy = { temperature: 0 };
const ask = (content: string) => [{ role: "user" as const, content }];

/** An `openai` client on the session; `recovered` collects what the adapter recovered from the host. */
function clientFor(session: Session, options: { fetch?: typeof fetch; timeout?: number; maxRetries?: number } = {}) {
  const recovered: RecoveredExchange[] = [];
  const openai = new OpenAI({
    baseURL: `${session.hostUrl}/v1`,
    apiKey: "unused",
    maxRetries: options.maxRetries ?? 0,
    timeout: options.timeout,
    fetch: createSessionFetch(session, { fetch: options.fetch, onRecovered: (exchanges) => recovered.push(...exchanges) }),
  });
  return { openai, recovered };
}

/** A successful request on the session, then an exact close. */
async function goOnAndClose(session: Session, openai: OpenAI): Promise<void> {
  const completion = await openai.chat.completions.create({ model: session.model!, messages: ask("Genesis 1:1"), max_tokens: 8, ...greedy });
  expect(completion.choices[0]!.message.content!.length).toBeGreaterThan(0);
  expect(session.dispute).toBeUndefined();
  expect(BigInt((await hostView(stack.host.url, session.jobId)).signedTokens)).toBe(session.cumulativeTokens);
  await closeExactly(stack.network, session);
}

describe("the openai client through createSessionFetch", () => {
  it("abort before the first chunk: the next request recovers whatever the host recorded, and the session settles exactly", async () => {
    pace.ms = 5;
    const session = await openUserSession(stack.network, 1_000n);
    const { openai } = clientFor(session);
    const controller = new AbortController();
    // Abort as soon as the request is on its way, before any chunk can come back.
    const sendThenAbort: typeof fetch = (input, init) => {
      const sent = fetch(input, init);
      if (String(input).endsWith("/chat/completions")) queueMicrotask(() => controller.abort());
      return sent;
    };
    const { openai: aborting } = clientFor(session, { fetch: sendThenAbort });
    await expect(
      aborting.chat.completions.create(
        { model: session.model!, messages: ask("In the beginning"), max_tokens: 200, stream: true, ...greedy },
        { signal: controller.signal },
      ),
    ).rejects.toThrow();
    await goOnAndClose(session, openai);
  }, 60_000);

  it("abort mid-stream: generation stops at the host, which bills at most what it wrote; the next request pays that and goes on", async () => {
    pace.ms = 5;
    const session = await openUserSession(stack.network, 1_000n);
    const { openai, recovered } = clientFor(session);
    const controller = new AbortController();
    const stream = await openai.chat.completions.create(
      { model: session.model!, messages: ask("And God said"), max_tokens: 400, stream: true, ...greedy },
      { signal: controller.signal },
    );
    let received = "";
    let deltas = 0;
    const consume = async () => {
      for await (const chunk of stream) {
        received += chunk.choices[0]?.delta.content ?? "";
        if (chunk.choices[0]?.delta.content && ++deltas === 5) controller.abort();
      }
    };
    await consume().catch(() => undefined);
    const broken = await waitForAbortedExchange(stack.host.url, session.jobId);
    expect(broken.lastExchange!.completionTokens).toBeLessThan(200);
    expect(broken.lastExchange!.completionTokens).toBeLessThanOrEqual(deltas + 64);

    await goOnAndClose(session, openai);
    expect(recovered).toHaveLength(1);
    expect(recovered[0]).toMatchObject({ aborted: true, completionTokens: broken.lastExchange!.completionTokens });
    expect(recovered[0]!.text.startsWith(received)).toBe(true);
  }, 60_000);

  it("`break` out of the stream: generation stops at the host too", async () => {
    pace.ms = 5;
    const session = await openUserSession(stack.network, 1_000n);
    const { openai } = clientFor(session);
    const stream = await openai.chat.completions.create({ model: session.model!, messages: ask("And God said"), max_tokens: 400, stream: true, ...greedy });
    for await (const chunk of stream) if (chunk.choices[0]?.delta.content) break;
    const broken = await waitForAbortedExchange(stack.host.url, session.jobId);
    expect(broken.lastExchange!.completionTokens).toBeLessThan(200);
    await goOnAndClose(session, openai);
  }, 60_000);

  it("a non-streamed request aborted while the host works: the next request recovers what it recorded, and the session settles exactly", async () => {
    pace.ms = 5;
    const session = await openUserSession(stack.network, 1_000n);
    const { openai } = clientFor(session);
    const controller = new AbortController();
    const pending = openai.chat.completions.create(
      { model: session.model!, messages: ask("And the earth was"), max_tokens: 300, ...greedy },
      { signal: controller.signal },
    );
    // Abort once the host has taken the request (its sequence moved), before its answer is done.
    for (
      let attempt = 0;
      attempt < 200 &&
      (await hostView(stack.host.url, session.jobId).then(
        (view) => view.lastSequence,
        () => "0",
      )) === "0";
      attempt++
    )
      await new Promise((resolve) => setTimeout(resolve, 10));
    controller.abort();
    await expect(pending).rejects.toThrow();
    await goOnAndClose(session, openai);
  }, 60_000);

  it("the client's `timeout` and automatic retry: the retry is served on the same session, the abandoned attempt is paid as the host recorded it", async () => {
    pace.hang = true;
    const session = await openUserSession(stack.network, 1_000n);
    // The host sits on the first attempt until the client gives up; then it answers at once.
    const quickAfterTimeout: typeof fetch = (input, init) => {
      init?.signal?.addEventListener("abort", () => (pace.hang = false), { once: true });
      return fetch(input, init);
    };
    const { openai, recovered } = clientFor(session, { timeout: 10_000, maxRetries: 2, fetch: quickAfterTimeout });
    const completion = await openai.chat.completions.create({ model: session.model!, messages: ask("And the earth was"), max_tokens: 300, ...greedy });
    expect(completion.choices[0]!.message.content!.length).toBeGreaterThan(0);
    // The host billed the abandoned attempt as it recorded it (here: nothing generated), or not at all.
    expect(recovered.length).toBeLessThanOrEqual(1);
    expect(session.dispute).toBeUndefined();
    await goOnAndClose(session, openai);
  }, 60_000);

  it("a connection dropped mid-stream: the next request, once the network is back, recovers the answer and the session settles exactly", async () => {
    pace.ms = 5;
    proxy ??= await startTcpProxy(new URL(stack.host.url));
    const session = await openUserSession(stack.network, 1_000n);
    session.hostUrl = proxy.url;
    const { openai, recovered } = clientFor(session);
    const stream = await openai.chat.completions.create({ model: session.model!, messages: ask("And God said"), max_tokens: 300, stream: true, ...greedy });
    let deltas = 0;
    const consume = async () => {
      for await (const chunk of stream) if (chunk.choices[0]?.delta.content && ++deltas === 5) proxy!.setDown(true);
    };
    await expect(consume()).rejects.toThrow();
    expect(session).toMatchObject({ resync: true, brokenOff: "connection" });
    await waitForAbortedExchange(stack.host.url, session.jobId);
    proxy.setDown(false);
    await goOnAndClose(session, openai);
    expect(recovered).toMatchObject([{ aborted: true }]);
  }, 60_000);

  it("a conversation that sends every answer back as history: the embedded model bills its own answers again within what the SDK allows for them (their completion tokens), so each turn is signed", async () => {
    pace.ms = 0;
    const session = await openUserSession(stack.network, 1_000n);
    const { openai } = clientFor(session);
    const messages: { role: "user" | "assistant"; content: string }[] = [];
    for (const [turn, prompt] of ["In the beginning", "And God said", "Genesis 1:1", "And the earth", "Let there be light"].entries()) {
      messages.push({ role: "user", content: prompt });
      const request = { model: session.model!, messages, max_tokens: 48, ...greedy };
      let answer = "";
      if (turn % 2 === 0) answer = (await openai.chat.completions.create(request)).choices[0]!.message.content!;
      else for await (const chunk of await openai.chat.completions.create({ ...request, stream: true })) answer += chunk.choices[0]?.delta.content ?? "";
      expect(answer.length).toBeGreaterThan(0);
      expect(session.dispute).toBeUndefined();
      messages.push({ role: "assistant", content: answer });
    }
    expect(session.billedAnswers).toHaveLength(5);
    await closeAfter(session, openai);
  }, 60_000);

  it("the deposit exhausted: the host's 402 reaches the client as openai's APIError, and a request the deposit covers still succeeds", async () => {
    pace.ms = 0;
    // A deposit that pays for 400 tokens.
    const deposit = 10n ** 16n;
    const { session } = await openSession(walletFor(stack.network, demoKeys.user), {
      contracts: stack.network.deployment,
      host: privateKeyToAccount(demoKeys.host).address,
      deposit,
      pricePerToken: deposit / 400n,
      proofInterval: 100n,
      maxDuration: 86_400n,
      modelId: stack.network.modelId,
    });
    const { openai } = clientFor(session);
    await openai.chat.completions.create({ model: session.model!, messages: ask("In the beginning"), max_tokens: 100, ...greedy });
    // 399 tokens more than the deposit has left, however short the first answer was.
    const error = await openai.chat.completions
      .create({ model: session.model!, messages: ask("And God said"), max_tokens: 399, ...greedy })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(OpenAI.APIError);
    expect((error as InstanceType<typeof OpenAI.APIError>).status).toBe(402);
    expect((error as InstanceType<typeof OpenAI.APIError>).code).toBe("session_deposit_exhausted");
    const signed = await closeAfter(session, openai);
    expect(signed * session.pricePerToken).toBeLessThanOrEqual(session.deposit);
  }, 60_000);
});

/** A request the rest of the deposit covers, then an exact close; returns the signed total. */
async function closeAfter(session: Session, openai: OpenAI): Promise<bigint> {
  await openai.chat.completions.create({ model: session.model!, messages: ask("Genesis 1:1"), max_tokens: 8, ...greedy });
  expect(session.dispute).toBeUndefined();
  return closeExactly(stack.network, session);
}
