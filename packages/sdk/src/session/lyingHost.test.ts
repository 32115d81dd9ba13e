import type { ServerResponse } from "node:http";
import OpenAI from "openai";
import { afterEach, describe, expect, it, vi } from "vitest";
import { buildChatRequest, chat } from "../actions/chat.ts";
import { streamChat } from "../actions/streamChat.ts";
import { createSessionFetch } from "../adapters/createSessionFetch.ts";
import { HostUnreachableError } from "../errors/host.ts";
import { SessionDisputedError, SessionProtocolError, TokenCountMismatchError, UndeliveredAnswersError, UnrecordedAnswersError } from "../errors/session.ts";
import { answerEndEvents, deltaEvent, errorEvent, openEventStream, startLyingHost, type LyingHost, type LyingHostChat } from "../testUtils/lyingHost.ts";
import { deltaContent, streamExchange } from "./exchange.ts";
import { deserializeSession, serializeSession } from "./serialization.ts";
import { maxFailedAnswersKept, maxUndeliveredInARow } from "./sync.ts";
import type { Session } from "./types.ts";

// A host that lies with a record that chains (docs/design.md, "Resynchronisation" and "Every read
// of host bytes is bounded"): what it says it wrote must extend what the SDK received live, only
// answer text keeps its idle timeout from firing, and a chunk has one choice.

vi.setConfig({ testTimeout: 60_000 });

let host: LyingHost | undefined;
afterEach(async () => {
  await host?.stop();
  host = undefined;
});

async function lyingSession(): Promise<Session> {
  const started = await startLyingHost();
  host = started.host;
  return started.session;
}

const messages = [{ role: "user" as const, content: "Hi" }];
const refuse = (response: ServerResponse) => void response.writeHead(503, { "content-type": "application/json" }).end("{}");

/** Streams until the first delta arrives, then stops (the user pressed stop); returns what was shown. */
async function stopAfterFirstDelta(session: Session): Promise<string> {
  const controller = new AbortController();
  let shown = "";
  await (async () => {
    for await (const delta of streamChat(session, { messages, maxTokens: 20, signal: controller.signal })) {
      shown += delta;
      controller.abort();
    }
  })().catch(() => undefined);
  return shown;
}

describe("the text a sync recovers must begin with the text received live", () => {
  it("a host that sent 'The answer is 42' and records 'The answer is 41…' gets no receipt: SessionProtocolError, session disputed", async () => {
    const session = await lyingSession();
    host!.onChat = (request, response) => {
      if (host!.chats.length > 1) return refuse(response);
      openEventStream(response).write(deltaEvent("The answer is 42"));
      host!.record(request, "The answer is 41, and you agreed to pay for it.", { completionTokens: 20 });
    };
    expect(await stopAfterFirstDelta(session)).toBe("The answer is 42");
    const error = await chat(session, { messages, maxTokens: 20 }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(SessionProtocolError);
    expect((error as SessionProtocolError).details).toMatch(/after 15 characters/);
    expect(host!.receipts).toEqual([]);
    expect(session.cumulativeTokens).toBe(0n);
    expect(session.dispute).toMatch(/does not begin with the text it sent live/);
  });

  it("holds across a restart (the CLI saves the session between runs): the live text is saved with it", async () => {
    const session = await lyingSession();
    host!.onChat = (request, response) => {
      if (host!.chats.length > 1) return refuse(response);
      openEventStream(response).write(deltaEvent("Hel"));
      host!.record(request, "Z".repeat(1_000), { completionTokens: 20 });
      setTimeout(() => response.socket?.destroy(), 20);
    };
    await expect(stopAfterFirstDelta(session)).resolves.toBe("Hel");
    const restored = deserializeSession(serializeSession(session));
    await expect(chat(restored, { messages, maxTokens: 20 })).rejects.toBeInstanceOf(SessionProtocolError);
    expect(host!.receipts).toEqual([]);
    expect(restored.dispute).toBeDefined();
  });

  it("holds for each request signed on the same transcript: a sync that finds nothing recorded, then a request dropped with no text, do not lift the check of the first", async () => {
    const session = await lyingSession();
    let first: Parameters<LyingHost["onChat"]>[0] | undefined;
    host!.onChat = (request, response) => {
      const count = host!.chats.length;
      if (count === 1) return void ((first = request), openEventStream(response).write(deltaEvent("The answer is 42")));
      if (count > 2) return refuse(response);
      // The second request's sync found nothing recorded; now the first is, rewritten, and the second is dropped with no text.
      host!.record(first!, "The answer is 41, and you agreed to pay for it.", { completionTokens: 20 });
      openEventStream(response);
      setTimeout(() => response.socket?.destroy(), 20);
    };
    expect(await stopAfterFirstDelta(session)).toBe("The answer is 42");
    await expect(streamChat(session, { messages, maxTokens: 20 }).result).rejects.toBeInstanceOf(HostUnreachableError);
    // Across a restart too: the live text of every such request is saved with the session.
    const restored = deserializeSession(serializeSession(session));
    await expect(chat(restored, { messages, maxTokens: 20 })).rejects.toBeInstanceOf(SessionProtocolError);
    expect(host!.receipts).toEqual([]);
    expect(restored.dispute).toMatch(/request 1 does not begin with the text it sent live/);
  });

  it("an honest record is signed: a character split across two deltas (a surrogate pair) and across two writes (its UTF-8 bytes), the user stopped between its halves", async () => {
    const session = await lyingSession();
    const event = Buffer.from(deltaEvent("é"));
    const cut = event.indexOf(Buffer.from("é")) + 1;
    host!.onChat = (request, response) => {
      if (host!.chats.length > 1) return refuse(response);
      openEventStream(response).write(event.subarray(0, cut));
      // The rest of "é" in a later write; then half an emoji ("\ud83d" as JSON escapes it), the other half never sent live.
      setTimeout(
        () => response.write(Buffer.concat([event.subarray(cut), Buffer.from('data: {"choices":[{"index":0,"delta":{"content":"\\ud83d"}}]}\n\n')])),
        20,
      );
      host!.record(request, "é😀 and the rest", { completionTokens: 5 });
    };
    const controller = new AbortController();
    let shown = "";
    await (async () => {
      for await (const delta of streamChat(session, { messages, maxTokens: 20, signal: controller.signal })) {
        shown += delta;
        if (shown.length === 2) controller.abort();
      }
    })().catch(() => undefined);
    expect(shown).toBe("é\ud83d");
    const recovered = await syncedText(session);
    expect(recovered).toBe("é😀 and the rest");
    expect(session.dispute).toBeUndefined();
    expect(host!.receipts.at(-1)?.cumulativeTokens).toBe("5");
  });

  it("an answer of which nothing arrived live passes trivially", async () => {
    const session = await lyingSession();
    host!.onChat = (request, response) => {
      if (host!.chats.length > 1) return refuse(response);
      openEventStream(response).write(deltaEvent(""));
      host!.record(request, "never shown");
      setTimeout(() => response.socket?.destroy(), 20);
    };
    await expect(streamChat(session, { messages, maxTokens: 20 }).result).rejects.toBeInstanceOf(HostUnreachableError);
    expect(await syncedText(session)).toBe("never shown");
    expect(session.dispute).toBeUndefined();
  });
});

describe("a host that breaks off answers after text and records none of them", () => {
  it.each([
    ["", false],
    [", also when it says it never heard of the session", true],
  ])(
    "is disputed at the sync after its second such answer in a row: the live text kept stays at two answers, in memory and saved%s",
    async (_, forgetsSession) => {
      const session = await lyingSession();
      host!.forgetsSession = forgetsSession;
      const text = "y".repeat(10_000);
      host!.onChat = (_request, response) => void openEventStream(response).write(deltaEvent(text));
      const errors: unknown[] = [];
      for (let attempt = 0; attempt < 8; attempt++) {
        const controller = new AbortController();
        errors.push(
          await (async () => {
            for await (const _delta of streamChat(session, { messages, maxTokens: 20, signal: controller.signal })) controller.abort();
          })().catch((error: unknown) => error),
        );
      }
      // Before: each request added its 10,000 characters to session.liveAnswers, 8 in all (80 kB saved), and every request went out.
      expect(session.liveAnswers?.length).toBe(maxUndeliveredInARow + 1);
      expect(serializeSession(session).length).toBeLessThan((maxUndeliveredInARow + 2) * text.length);
      expect(host!.chats).toHaveLength(maxUndeliveredInARow + 1);
      expect(errors[maxUndeliveredInARow + 1]).toBeInstanceOf(UnrecordedAnswersError);
      expect(errors.at(-1)).toBeInstanceOf(SessionDisputedError);
      expect(session.dispute).toMatch(/recorded none of them/);
      expect(host!.receipts).toEqual([]);
    },
  );

  it("one such answer (a host that crashed mid-answer) is not held against it: the next answer is signed", async () => {
    const session = await lyingSession();
    host!.onChat = (request, response) => {
      const stream = openEventStream(response);
      if (host!.chats.length === 1) return void stream.write(deltaEvent("Hel"));
      stream.end(deltaEvent("Hello") + answerEndEvents(host!.record(request, "Hello", { aborted: false })));
    };
    expect(await stopAfterFirstDelta(session)).toBe("Hel");
    await expect(streamChat(session, { messages, maxTokens: 20 }).result).resolves.toMatchObject({ text: "Hello" });
    expect(session.liveAnswers).toBeUndefined();
    expect(session.dispute).toBeUndefined();
  });
});

describe("an answer the host ended with an error event (it says: not billed, not recorded)", () => {
  it.each([
    ["rewritten", "The answer is 41, and you agreed to pay for it."],
    ["extending what was shown", "The answer is 42, and you agreed to pay for it."],
  ])(
    "is never signed later: a host that streamed 'The answer is 42', then an error, and presents the request as recorded (%s) at the sync after the next request broke off is disputed, also across a restart",
    async (_, recordedText) => {
      const session = await lyingSession();
      let first: Parameters<LyingHost["onChat"]>[0] | undefined;
      host!.onChat = (request, response) => {
        const count = host!.chats.length;
        if (count === 1) return void ((first = request), openEventStream(response).end(deltaEvent("The answer is 42") + errorEvent()));
        if (count > 2) return refuse(response);
        // Both requests were signed on the same transcript hash: the first one's record chains.
        host!.record(first!, recordedText, { completionTokens: 20 });
        openEventStream(response);
        setTimeout(() => response.socket?.destroy(), 20);
      };
      let shown = "";
      const failed = streamChat(session, { messages, maxTokens: 20 });
      const reading = (async () => {
        for await (const delta of failed) shown += delta;
      })();
      await expect(failed.result).rejects.toMatchObject({ hostMessage: "the model failed" });
      await reading.catch(() => undefined);
      expect(shown).toBe("The answer is 42");
      await expect(streamChat(session, { messages, maxTokens: 20 }).result).rejects.toBeInstanceOf(HostUnreachableError);
      const restored = deserializeSession(serializeSession(session));
      const error = await chat(restored, { messages, maxTokens: 20 }).catch((caught: unknown) => caught);
      // Before: signed for 20 tokens of text the user never saw (or saw only the start of).
      expect(host!.receipts).toEqual([]);
      expect(error).toBeInstanceOf(SessionProtocolError);
      expect(restored.cumulativeTokens).toBe(0n);
      expect(restored.dispute).toMatch(/answered request 1 with an error/);
    },
  );

  it("an honest host whose backend fails mid-answer twice in a row, then breaks off once after text, is not disputed: the next answer is signed", async () => {
    const session = await lyingSession();
    host!.onChat = (request, response) => {
      const stream = openEventStream(response);
      const count = host!.chats.length;
      if (count <= 2) return void stream.end(deltaEvent("Hel") + errorEvent());
      if (count === 3) return void (stream.write(deltaEvent("Hel")), setTimeout(() => response.socket?.destroy(), 20));
      stream.end(deltaEvent("Hello") + answerEndEvents(host!.record(request, "Hello", { aborted: false })));
    };
    for (let attempt = 0; attempt < 2; attempt++) await expect(streamChat(session, { messages, maxTokens: 20 }).result).rejects.toThrow("the model failed");
    await expect(streamChat(session, { messages, maxTokens: 20 }).result).rejects.toBeInstanceOf(HostUnreachableError);
    await expect(streamChat(session, { messages, maxTokens: 20 }).result).resolves.toMatchObject({ text: "Hello" });
    expect(session.dispute).toBeUndefined();
    expect(session.failedAnswers).toBeUndefined();
    expect(session.liveAnswers).toBeUndefined();
  });

  it("what the SDK keeps of them stays bounded: a host that fails every answer after text keeps at most maxFailedAnswersKept sequence numbers and the live text of two answers, then is disputed", async () => {
    const session = await lyingSession();
    const text = "y".repeat(10_000);
    host!.onChat = (_request, response) => void openEventStream(response).end(deltaEvent(text) + errorEvent());
    const errors: unknown[] = [];
    for (let attempt = 0; attempt < 20; attempt++) errors.push(await streamChat(session, { messages, maxTokens: 20 }).result.catch((error: unknown) => error));
    expect(session.failedAnswers).toHaveLength(maxFailedAnswersKept);
    expect(session.liveAnswers?.length).toBe(maxUndeliveredInARow + 1);
    expect(serializeSession(session).length).toBeLessThan((maxUndeliveredInARow + 2) * text.length);
    expect(host!.chats).toHaveLength(maxFailedAnswersKept + maxUndeliveredInARow + 1);
    expect(errors[maxFailedAnswersKept + maxUndeliveredInARow + 1]).toBeInstanceOf(UnrecordedAnswersError);
    expect(errors.at(-1)).toBeInstanceOf(SessionDisputedError);
    expect(host!.receipts).toEqual([]);
  });
});

/** The text a sync recovers on the next request (which the host refuses). */
async function syncedText(session: Session): Promise<string | undefined> {
  let text: string | undefined;
  await chat(session, { messages, maxTokens: 20, onRecovered: (exchanges) => (text = exchanges[0]?.text) }).catch(() => undefined);
  return text;
}

describe("only answer text is a streaming host's progress: the SDK's idle timeout ends a host that sends anything else", () => {
  const stalls: [string, (response: ServerResponse) => void][] = [
    ["SSE comments", (response) => response.write(": ping\n\n")],
    ["blank lines", (response) => response.write("\n\n")],
    ["data events without text", (response) => response.write(deltaEvent(""))],
    ["one byte of an event at a time", (response) => response.write("d")],
    // The first `session` object (the answer's end) is progress; the same again is not.
    ["a `session` object again and again", (response) => response.write(`data: ${JSON.stringify({ choices: [], session: {} })}\n\n`)],
  ];

  it.each(stalls)("%s every 20 ms: a connection break (ETIMEDOUT) that counts towards the undelivered run", async (_name, stall) => {
    const session = await lyingSession();
    const timers: NodeJS.Timeout[] = [];
    host!.onChat = (request, response) => {
      openEventStream(response).write(deltaEvent(""));
      timers.push(setInterval(() => stall(response), 20));
      host!.record(request, "x".repeat(49), { completionTokens: 50 });
    };
    const errors: unknown[] = [];
    for (let attempt = 0; attempt < 3; attempt++)
      // The app's own deadline, far beyond the SDK's idle timeout: it must not be what ends the stall.
      errors.push(
        await streamChat(session, { messages, maxTokens: 50, timeoutMs: 300, signal: AbortSignal.timeout(10_000) }).result.catch((error: unknown) => error),
      );
    timers.forEach(clearInterval);
    expect(errors[0]).toBeInstanceOf(HostUnreachableError);
    expect((errors[0] as HostUnreachableError).code).toBe("ETIMEDOUT");
    expect(errors[2]).toBeInstanceOf(UndeliveredAnswersError);
    // One answer that never arrived live is paid for, as after any dropped connection; then the session is disputed.
    expect(host!.receipts.map((receipt) => receipt.cumulativeTokens)).toEqual(["50"]);
  });

  it("the openai client (its retries, its 10-minute timeout): keep-alive comments and no token bill at most one answer, then the session is disputed", async () => {
    const session = await lyingSession();
    const timers: NodeJS.Timeout[] = [];
    host!.onChat = (request, response) => {
      openEventStream(response).write(": ping\n\n");
      timers.push(setInterval(() => response.write(": ping\n\n"), 20));
      host!.record(request, "x".repeat(99), { completionTokens: 100 });
    };
    // The client's own timeout far beyond the SDK's idle timeout (its default is 10 minutes).
    const openai = new OpenAI({
      baseURL: `${session.hostUrl}/v1`,
      apiKey: "unused",
      fetch: createSessionFetch(session, { timeoutMs: 300 }),
      maxRetries: 2,
      timeout: 10_000,
    });
    // One call: the first attempt times out, its retry pays for it and times out, the second retry refuses to pay again.
    const stream = openai.chat.completions.create({ model: "m", messages, max_tokens: 100, stream: true });
    await expect(
      (async () => {
        for await (const _chunk of await stream);
      })(),
    ).rejects.toThrow();
    timers.forEach(clearInterval);
    expect(host!.receipts.map((receipt) => receipt.cumulativeTokens)).toEqual(["100"]);
    expect(session.dispute).toMatch(/never arrived live/);
  });

  it("a chat() whose host drips its JSON answer a byte at a time (slow loris) ends with ETIMEDOUT", async () => {
    const session = await lyingSession();
    const timers: NodeJS.Timeout[] = [];
    host!.onChat = (_request, response) => {
      response.writeHead(200, { "content-type": "application/json" }).write(" ");
      timers.push(setInterval(() => response.write(" "), 20));
    };
    const error = await chat(session, { messages, timeoutMs: 300 }).catch((caught: unknown) => caught);
    timers.forEach(clearInterval);
    expect(error).toBeInstanceOf(HostUnreachableError);
    expect((error as HostUnreachableError).code).toBe("ETIMEDOUT");
  }, 20_000);

  it("an honest stream slower in all than the idle timeout is read to its end: each delta restarts the host's clock", async () => {
    const session = await lyingSession();
    host!.onChat = (request, response) => {
      const words = Array.from({ length: 15 }, (_, index) => `w${index} `);
      const entry = host!.record(request, words.join(""), { aborted: false });
      openEventStream(response);
      const next = (index: number) => {
        if (index < words.length) return void (response.write(deltaEvent(words[index]!)), setTimeout(() => next(index + 1), 100));
        response.end(answerEndEvents(entry));
      };
      next(0);
    };
    // 15 deltas 100 ms apart: 1.5 s in all, against a clock of 1 s between two of them.
    const result = await streamChat(session, { messages, maxTokens: 100, timeoutMs: 1_000 }).result;
    expect(result.text).toBe(Array.from({ length: 15 }, (_, index) => `w${index} `).join(""));
  });

  it("a reader slower than the idle timeout is not the host's fault: its clock runs only while the SDK waits for it", async () => {
    const session = await lyingSession();
    let answering: { response: ServerResponse; entry: ReturnType<LyingHost["record"]> } | undefined;
    host!.onChat = (request, response) => {
      answering = { response, entry: host!.record(request, "ab", { aborted: false }) };
      openEventStream(response).write(deltaEvent("a"));
    };
    // The exchange itself, read as a caller with backpressure reads it (createSessionFetch's body):
    // streamChat reads the host on its own, whatever its reader does.
    const chunks = streamExchange(session, { request: buildChatRequest(session, { messages, maxTokens: 10 }, true), timeoutMs: 1_000 });
    const first = await chunks.next();
    expect(first.done === false && deltaContent(first.value)).toBe("a");
    const { response, entry } = answering!;
    // While the reader is away, the host sends an event that is not progress (the SDK's read takes
    // it, so the host's clock stops), and the rest only once the reader is back, a moment later: a
    // clock that ran on wall time since the last progress would end the answer there.
    response.write(deltaEvent(""));
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    setTimeout(() => response.end(`${deltaEvent("b")}${answerEndEvents(entry)}`), 50);
    let next = await chunks.next();
    while (!next.done) next = await chunks.next();
    expect(next.value).toMatchObject({ text: "ab", cumulativeTokens: 3n });
  });
});

describe("a streamed chunk has one choice, index 0 (a session's n is 1)", () => {
  it.each([
    [
      "two choices, the billed one second",
      [
        { index: 1, delta: { content: "ok" } },
        { index: 0, delta: { content: "h".repeat(999) } },
      ],
    ],
    ["one choice whose index is not 0", [{ index: 1, delta: { content: "h".repeat(999) } }]],
  ])("%s, through the openai client: SessionProtocolError, nothing billed, session disputed", async (_name, choices) => {
    const session = await lyingSession();
    host!.onChat = (request, response) => {
      const entry = host!.record(request, "h".repeat(999), { completionTokens: 1000, aborted: false });
      openEventStream(response).end(`data: ${JSON.stringify({ choices })}\n\n${answerEndEvents(entry)}`);
    };
    const openai = new OpenAI({ baseURL: `${session.hostUrl}/v1`, apiKey: "unused", fetch: createSessionFetch(session), maxRetries: 0 });
    const error = await (async () => {
      for await (const _chunk of await openai.chat.completions.create({ model: "m", messages, max_tokens: 1000, stream: true }));
    })().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(SessionProtocolError);
    expect(session.cumulativeTokens).toBe(0n);
    expect(host!.receipts).toEqual([]);
    expect(session.dispute).toMatch(/one choice/);
  });
});

describe("a stop before any answer text arrived", () => {
  /** Requests whose host sends headers and then nothing: it bills `completionTokens` and the user presses Stop once the host has the request. */
  async function stopsBeforeText(session: Session, completionTokens: number): Promise<unknown[]> {
    const errors: unknown[] = [];
    for (let attempt = 0; attempt < 3; attempt++) {
      const controller = new AbortController();
      host!.onChat = (request, response) => {
        openEventStream(response).write(": nothing yet\n\n");
        host!.record(request, "x".repeat(Math.max(0, completionTokens - 1)), { completionTokens });
        controller.abort();
      };
      errors.push(await streamChat(session, { messages, maxTokens: 50, signal: controller.signal }).result.catch((error: unknown) => error));
    }
    return errors;
  }

  it("billed with completion tokens, counts like a dropped connection: a host that sends nothing until the user stops is paid once, then disputed", async () => {
    const session = await lyingSession();
    const errors = await stopsBeforeText(session, 5);
    expect(errors[2]).toBeInstanceOf(UndeliveredAnswersError);
    expect(host!.receipts.map((receipt) => receipt.cumulativeTokens)).toEqual(["5"]);
    expect(session.dispute).toMatch(/never arrived live/);
  });

  it("billed for the prompt alone (0 completion tokens), is signed and counts for nothing", async () => {
    const session = await lyingSession();
    const errors = await stopsBeforeText(session, 0);
    for (const error of errors) expect(error).not.toBeInstanceOf(UndeliveredAnswersError);
    expect(host!.receipts).toHaveLength(2);
    expect(session.undeliveredInARow).toBe(0);
    expect(session.dispute).toBeUndefined();
  });
});

describe("answer text is a string", () => {
  it("a delta whose content is an object (counted as progress, billed as '[object Object]'): SessionProtocolError, nothing billed, session disputed", async () => {
    const session = await lyingSession();
    host!.onChat = (request, response) => {
      const entry = host!.record(request, "[object Object]", { aborted: false });
      openEventStream(response).end(`data: ${JSON.stringify({ choices: [{ index: 0, delta: { content: { text: "hi" } } }] })}\n\n${answerEndEvents(entry)}`);
    };
    const error = await streamChat(session, { messages, maxTokens: 20 }).result.catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(SessionProtocolError);
    expect(host!.receipts).toEqual([]);
    expect(session.dispute).toMatch(/not a string/);
  });
});

describe("the openai adapter keeps the app's credentials from the host", () => {
  it("the real openai client's Authorization (OPENAI_API_KEY), organization and project headers, and an app's cookie and api-key, never reach the host", async () => {
    const session = await lyingSession();
    const openai = new OpenAI({
      baseURL: `${session.hostUrl}/v1`,
      apiKey: "sk-real-openai-key",
      organization: "org-secret",
      project: "proj-secret",
      defaultHeaders: {
        cookie: "session=secret",
        "api-key": "azure-secret",
        "x-api-key": "secret",
        "proxy-authorization": "Basic secret",
        "x-app-trace": "kept",
      },
      fetch: createSessionFetch(session),
      maxRetries: 0,
    });
    await openai.chat.completions.create({ model: "m", messages, max_tokens: 5 }).catch(() => undefined);
    await openai.models.list().catch(() => undefined);
    expect(host!.requests.map((request) => request.path)).toEqual(["/v1/chat/completions", "/v1/models"]);
    for (const { headers } of host!.requests) {
      for (const name of ["authorization", "cookie", "proxy-authorization", "api-key", "x-api-key", "openai-organization", "openai-project"])
        expect(headers[name], name).toBeUndefined();
      expect(Object.values(headers).join(" ")).not.toMatch(/secret|sk-real/);
      expect(headers["x-app-trace"]).toBe("kept");
    }
    const headers = host!.chats[0]!.headers;
    expect(headers["x-session-signature"]).toBeDefined();
  });
});

describe("an answer's hidden bytes are not billed again as history (a host hides text the app does not render, bills a few tokens for it, then bills the re-sent history at its bytes)", () => {
  const visible = "Sure, 42.";
  /** Answers `text` in one delta, billed as `tokens` says, and records it as a finished exchange. */
  const answer = (request: LyingHostChat, response: ServerResponse, text: string, tokens: { promptTokens: number; completionTokens: number }) =>
    void openEventStream(response).end(deltaEvent(text) + answerEndEvents(host!.record(request, text, { ...tokens, aborted: false })));
  /** Turn 2: the messages' UTF-8 bytes billed as prompt tokens (what the prompt bound allowed before). */
  const billEveryByte = (request: LyingHostChat) =>
    (JSON.parse(request.body.toString()) as { messages: { content: string }[] }).messages.reduce((sum, message) => sum + Buffer.byteLength(message.content), 0);
  const secondTurn = (session: Session, shown: string) =>
    streamChat(session, {
      messages: [...messages, { role: "assistant", content: shown }, { role: "user", content: "thanks" }],
      maxTokens: 200,
    }).result;

  it("a one-line answer hiding a megabyte, billed as 5 completion tokens, is refused: TokenCountMismatchError, nothing signed, session disputed", async () => {
    const session = await lyingSession();
    host!.onChat = (request, response) => answer(request, response, `${visible}<!--${"A".repeat(1_000_000)}-->`, { promptTokens: 4, completionTokens: 5 });
    // Before: signed, and the next turn (every byte of the history billed) signed 1,000,035 tokens (an attacker's run).
    const error = await streamChat(session, { messages, maxTokens: 200 }).result.catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(TokenCountMismatchError);
    expect((error as TokenCountMismatchError).violations).toEqual([
      expect.objectContaining({ field: "completionTokens", claimed: 5n, limit: BigInt(Math.ceil(1_000_016 / 256) - 1) }),
    ]);
    expect(host!.receipts).toEqual([]);
    expect(session.dispute).toMatch(/token counts/);
  });

  it.each([
    ["", (session: Session) => session],
    [", also after a restart from saved state", (session: Session) => deserializeSession(serializeSession(session))],
  ])("an answer hiding what the byte cap lets through is billed again at most its own 5 completion tokens%s", async (_, restart) => {
    const first = await lyingSession();
    const hidden = `${visible}<!--${"A".repeat(1_000)}-->`;
    host!.onChat = (request, response) => answer(request, response, hidden, { promptTokens: 4, completionTokens: 5 });
    await expect(streamChat(first, { messages, maxTokens: 200 }).result).resolves.toMatchObject({ text: hidden, cumulativeTokens: 9n });
    const session = restart(first);

    host!.onChat = (request, response) => answer(request, response, "Ok.", { promptTokens: billEveryByte(request), completionTokens: 2 });
    const error = await secondTurn(session, hidden).catch((caught: unknown) => caught);
    // Before: signed for 2 + 1,016 + 6 prompt tokens.
    expect(error).toBeInstanceOf(TokenCountMismatchError);
    expect((error as TokenCountMismatchError).violations).toEqual([expect.objectContaining({ field: "promptTokens", claimed: 1_024n })]);
    expect(host!.receipts.map((receipt) => receipt.cumulativeTokens)).toEqual(["9"]);
    expect(session.dispute).toBeDefined();
  });

  it("an honest host, which bills the answer again at about the tokens it generated, is signed", async () => {
    const session = await lyingSession();
    const hidden = `${visible}<!--${"A".repeat(1_000)}-->`;
    host!.onChat = (request, response) => answer(request, response, hidden, { promptTokens: 4, completionTokens: 5 });
    await streamChat(session, { messages, maxTokens: 200 }).result;
    // "Hi" (1) + the answer (5) + "thanks" (1) + a template's 8 a message
    host!.onChat = (request, response) => answer(request, response, "Ok.", { promptTokens: 1 + 5 + 1 + 3 * 8, completionTokens: 2 });
    await expect(secondTurn(session, hidden)).resolves.toMatchObject({ cumulativeTokens: 9n + 31n + 2n });
    expect(session.dispute).toBeUndefined();
  });

  it("an answer the client stopped, recovered by a sync, is held to the bytes-a-token cap", async () => {
    // A stopped answer is billed at most a token a delta, which may be fewer than its text
    // re-tokenizes to, so as history it counts at its bytes (reconcile.test.ts); what a host can
    // hide in it is bounded by the cap on its bytes a billed token instead.
    const session = await lyingSession();
    const hidden = `${visible}<!--${"A".repeat(100_000)}-->`;
    host!.onChat = (request, response) => {
      if (host!.chats.length === 1) {
        openEventStream(response).write(deltaEvent(visible));
        host!.record(request, hidden, { promptTokens: 4, completionTokens: 5 });
        return;
      }
      answer(request, response, "Ok.", { promptTokens: billEveryByte(request), completionTokens: 2 });
    };
    expect(await stopAfterFirstDelta(session)).toBe(visible);
    let recovered: string | undefined;
    const error = await streamChat(session, {
      messages: [...messages, { role: "assistant", content: hidden }, { role: "user", content: "thanks" }],
      maxTokens: 200,
      onRecovered: (exchanges) => (recovered = exchanges[0]?.text),
    }).result.catch((caught: unknown) => caught);
    expect(recovered).toBeUndefined();
    expect(error).toBeInstanceOf(TokenCountMismatchError);
    expect((error as TokenCountMismatchError).violations).toEqual([expect.objectContaining({ field: "completionTokens" })]);
    expect(host!.receipts).toEqual([]);
    expect(session.dispute).toBeDefined();
  });
});
