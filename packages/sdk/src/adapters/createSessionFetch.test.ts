import OpenAI from "openai";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { generatePrivateKey } from "viem/accounts";
import { SessionFetchUrlError, TokenCountMismatchError } from "../errors/session.ts";
import type { Session } from "../session/types.ts";
import { startOffChainSession } from "../testUtils/offChainSession.ts";
import { generateWords, type TestHost } from "../testUtils/testHost.ts";
import type { RecoveredExchange } from "../session/reconcile.ts";
import { waitFor } from "../testUtils/waitFor.ts";
import { createSessionFetch } from "./createSessionFetch.ts";

let session: Session;
let host: TestHost;
let openai: OpenAI;
beforeEach(async () => {
  ({ session, host } = await startOffChainSession());
  openai = new OpenAI({ baseURL: `${host.url}/v1`, apiKey: "unused", fetch: createSessionFetch(session), maxRetries: 0 });
});
afterEach(() => host.stop());

const messages = [{ role: "user" as const, content: "Let there be light" }];

describe("createSessionFetch with the official openai client", () => {
  it("runs a chat completion through the session and leaves a receipt", async () => {
    const completion = await openai.chat.completions.create({ model: "test-model", messages, max_tokens: 7 });
    expect(completion.choices[0]?.message.content).toBe(generateWords("Let there be light", 7).join(""));
    expect(completion.usage?.completion_tokens).toBe(7);
    expect(host.receipts.get(1n)?.cumulativeTokens).toBe(BigInt(completion.usage!.total_tokens));
    expect(session.cumulativeTokens).toBe(BigInt(completion.usage!.total_tokens));
  });

  it("streams, hiding the usage chunk the caller did not ask for, and receipts the stream", async () => {
    const stream = await openai.chat.completions.create({ model: "test-model", messages, max_tokens: 5, stream: true });
    let text = "";
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? "";
    expect(text).toBe(generateWords("Let there be light", 5).join(""));
    // The stream ends once the exchange is accepted; its receipt follows, overlapping the next request.
    expect(session.receipt?.cumulativeTokens).toBe(session.cumulativeTokens);
    await waitFor(() => session.receipt?.delivered === true);
    expect(host.receipts.get(1n)?.cumulativeTokens).toBe(session.cumulativeTokens);
    expect(session.cumulativeTokens).toBeGreaterThan(5n);
  });

  it("passes the usage chunk through when the caller asks for it", async () => {
    const stream = await openai.chat.completions.create({
      model: "test-model",
      messages,
      max_tokens: 5,
      stream: true,
      stream_options: { include_usage: true },
    });
    let totalTokens: number | undefined;
    for await (const chunk of stream) totalTokens = chunk.usage?.total_tokens ?? totalTokens;
    expect(BigInt(totalTokens!)).toBe(session.cumulativeTokens);
  });

  it("lists models unsigned", async () => {
    const models = await openai.models.list();
    expect(models.data.map((model) => model.id)).toEqual(["test-model"]);
  });

  it("surfaces a host refusal as openai's APIError with the protocol code", async () => {
    const impostor = new OpenAI({
      baseURL: `${host.url}/v1`,
      apiKey: "unused",
      fetch: createSessionFetch({ ...session, sessionKey: generatePrivateKey() }),
    });
    const error = await impostor.chat.completions.create({ model: "test-model", messages }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(OpenAI.AuthenticationError);
    expect((error as InstanceType<typeof OpenAI.APIError>).code).toBe("session_bad_signature");
    expect(host.refusals).toEqual(["session_bad_signature"]);
  });

  it("throws TokenCountMismatchError itself, streamed or not, when the host overclaims", async () => {
    host.behaviour.overclaimTokens = 100;
    await expect(openai.chat.completions.create({ model: "test-model", messages, max_tokens: 3 })).rejects.toBeInstanceOf(TokenCountMismatchError);
    expect(host.receipts.size).toBe(0);
  });

  it("throws TokenCountMismatchError from a stream when the host overclaims", async () => {
    host.behaviour.overclaimTokens = 100;
    const stream = await openai.chat.completions.create({ model: "test-model", messages, max_tokens: 3, stream: true });
    const consume = async () => {
      for await (const _chunk of stream);
    };
    await expect(consume()).rejects.toBeInstanceOf(TokenCountMismatchError);
    expect(host.receipts.size).toBe(0);
  });
});

describe("createSessionFetch when the reader stops a stream", () => {
  /** The host saw the connection close: it recorded the answer as aborted. */
  const hostStopped = () => waitFor(() => host.exchanges.get(1n)?.[0]?.aborted === true);

  it("`break` cancels the request at the host, and the next request pays only for what it wrote", async () => {
    host.behaviour.wordDelayMs = 20;
    const recovered: RecoveredExchange[] = [];
    openai = new OpenAI({
      baseURL: `${host.url}/v1`,
      apiKey: "unused",
      fetch: createSessionFetch(session, { onRecovered: (exchanges) => recovered.push(...exchanges) }),
      maxRetries: 0,
    });
    const stream = await openai.chat.completions.create({ model: "test-model", messages, max_tokens: 200, stream: true });
    for await (const chunk of stream) if (chunk.choices[0]?.delta.content) break;
    await hostStopped();
    expect(session).toMatchObject({ resync: true, brokenOff: "client", cumulativeTokens: 0n });
    const billed = host.exchanges.get(1n)![0]!;
    expect(billed.completionTokens).toBeLessThan(200);

    host.behaviour.wordDelayMs = 0;
    const completion = await openai.chat.completions.create({ model: "test-model", messages, max_tokens: 2 });
    expect(recovered).toMatchObject([{ aborted: true, text: billed.responseText, completionTokens: billed.completionTokens }]);
    expect(session.cumulativeTokens).toBe(BigInt(billed.promptTokens + billed.completionTokens + completion.usage!.total_tokens));
    expect(host.receipts.get(1n)?.cumulativeTokens).toBe(session.cumulativeTokens);
  });

  it("`controller.abort()` after the first chunk cancels the request at the host", async () => {
    host.behaviour.wordDelayMs = 20;
    const controller = new AbortController();
    const stream = await openai.chat.completions.create({ model: "test-model", messages, max_tokens: 200, stream: true }, { signal: controller.signal });
    const consume = async () => {
      for await (const chunk of stream) if (chunk.choices[0]?.delta.content) controller.abort();
    };
    // `openai` ends an aborted stream quietly (or throws its APIUserAbortError).
    await consume().catch(() => undefined);
    await hostStopped();
    expect(host.exchanges.get(1n)![0]!.completionTokens).toBeLessThan(200);
    host.behaviour.wordDelayMs = 0;
    const completion = await openai.chat.completions.create({ model: "test-model", messages, max_tokens: 2 });
    expect(completion.choices[0]?.message.content).toBe(generateWords("Let there be light", 2).join(""));
    expect(host.receipts.get(1n)?.cumulativeTokens).toBe(session.cumulativeTokens);
  });
});

describe("createSessionFetch routes", () => {
  it("answers GET /models/:id from the host's model list, and 404 model_not_found for another", async () => {
    expect(await openai.models.retrieve("test-model")).toMatchObject({ id: "test-model" });
    const error = await openai.models.retrieve("gpt-4o").catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(OpenAI.NotFoundError);
    expect((error as InstanceType<typeof OpenAI.APIError>).code).toBe("model_not_found");
  });

  it("refuses endpoints a session does not pay for with an OpenAI-style 404, sending nothing to the host", async () => {
    const before = host.requests.length;
    const error = await openai.embeddings.create({ model: "test-model", input: "x" }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(OpenAI.NotFoundError);
    expect((error as InstanceType<typeof OpenAI.APIError>).code).toBe("unsupported_endpoint");
    expect(host.requests.length).toBe(before);
  });

  it("refuses a body that is not JSON with 400 invalid_request", async () => {
    const response = await createSessionFetch(session)(`${host.url}/v1/chat/completions`, { method: "POST", body: "{not json" });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: { code: "invalid_request", type: "invalid_request_error" } });
  });
});

describe("createSessionFetch after a request that broke off", () => {
  it("syncs at /v1/session/sync, not at the chat URL, so the next request succeeds", async () => {
    host.behaviour.breakStreamAfterWords = 2;
    const broken = await openai.chat.completions.create({ model: "test-model", messages, max_tokens: 9, stream: true });
    const consume = async () => {
      for await (const _chunk of broken);
    };
    await expect(consume()).rejects.toThrow();
    expect(session.resync).toBe(true);

    host.behaviour.breakStreamAfterWords = undefined;
    const completion = await openai.chat.completions.create({ model: "test-model", messages, max_tokens: 3 });
    expect(completion.choices[0]?.message.content).toBe(generateWords("Let there be light", 3).join(""));
    expect(host.requests.filter((request) => request.path === "/v1/session/sync")).toHaveLength(1);
    expect(host.receipts.get(1n)?.cumulativeTokens).toBe(session.cumulativeTokens);
  });
});

describe("createSessionFetch refuses a request that is not for the session's host", () => {
  /** A `fetch` for the SDK's host requests that counts them and answers none. */
  function countingFetch() {
    const urls: string[] = [];
    const fetch: typeof globalThis.fetch = async (input) => {
      urls.push(input instanceof Request ? input.url : String(input));
      return new Response("{}", { status: 500 });
    };
    return { fetch, urls };
  }

  async function refusal(baseURL: string | undefined, stream = false) {
    const sent = countingFetch();
    const client = new OpenAI({
      ...(baseURL === undefined ? {} : { baseURL }),
      apiKey: "unused",
      maxRetries: 0,
      fetch: createSessionFetch(session, { fetch: sent.fetch }),
    });
    const call = async () => {
      if (!stream) return client.chat.completions.create({ model: "test-model", messages });
      for await (const _chunk of await client.chat.completions.create({ model: "test-model", messages, stream: true }));
    };
    const error = await call().then(
      () => undefined,
      (caught: unknown) => caught,
    );
    return { error, urls: sent.urls };
  }

  it.each([
    ["no baseURL (openai's default, api.openai.com)", undefined],
    ["the host without /v1", "HOST"],
    ["another path on the host", "HOST/v2"],
    ["a path that only starts like /v1", "HOST/v1x"],
    ["another port", "http://127.0.0.1:9/v1"],
  ])("%s: a one-line SessionFetchUrlError with the baseURL to set, and nothing sent or signed", async (_case, baseURL) => {
    for (const stream of [false, true]) {
      const { error, urls } = await refusal(baseURL?.replace("HOST", host.url), stream);
      expect(error).toBeInstanceOf(SessionFetchUrlError);
      const { shortMessage } = error as SessionFetchUrlError;
      expect(shortMessage).not.toContain("\n");
      expect(shortMessage).toContain(`baseURL must be ${host.url}/v1`);
      expect(urls).toEqual([]);
    }
    expect(host.requests).toEqual([]);
    expect(session.sequence).toBe(0n);
  });

  it("refuses GET /models elsewhere too", async () => {
    const sent = countingFetch();
    const client = new OpenAI({ apiKey: "unused", maxRetries: 0, fetch: createSessionFetch(session, { fetch: sent.fetch }) });
    await expect(client.models.list()).rejects.toBeInstanceOf(SessionFetchUrlError);
    expect(sent.urls).toEqual([]);
  });

  it("accepts the host's /v1 under a host URL with a path prefix, and a trailing slash", async () => {
    const sent = countingFetch();
    const prefixed = { ...session, hostUrl: "http://127.0.0.1:9/prefix/" };
    const wrong = new OpenAI({ baseURL: "http://127.0.0.1:9/v1", apiKey: "unused", maxRetries: 0, fetch: createSessionFetch(prefixed, { fetch: sent.fetch }) });
    await expect(wrong.chat.completions.create({ model: "test-model", messages })).rejects.toBeInstanceOf(SessionFetchUrlError);
    expect(sent.urls).toEqual([]);
    const right = new OpenAI({
      baseURL: "http://127.0.0.1:9/prefix/v1/",
      apiKey: "unused",
      maxRetries: 0,
      fetch: createSessionFetch(prefixed, { fetch: sent.fetch }),
    });
    await right.chat.completions.create({ model: "test-model", messages }).catch(() => undefined);
    expect(sent.urls).toEqual(["http://127.0.0.1:9/prefix/v1/chat/completions"]);
  });
});
