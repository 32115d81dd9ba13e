import { describe, expect, it } from "vitest";
import { HostError } from "../errors.ts";
import { estimatePromptTokens, parseChatRequest, uncountedPromptTokens } from "./chatRequest.ts";

describe("a prompt the host could not count", () => {
  const request = {
    messages: [
      { role: "user" as const, content: "Hi" },
      { role: "assistant" as const, content: "Sure, 42.<!-- hidden -->" },
      { role: "user" as const, content: "thanks" },
    ],
  };

  it("is reserved at its UTF-8 bytes plus the overhead per message", () => {
    expect(estimatePromptTokens(request, 8)).toBe(2 + 24 + 6 + 3 * 8);
  });

  it("is billed with assistant messages at their overhead alone, which every client's count check accepts (its own answers count at the tokens billed for them)", () => {
    expect(uncountedPromptTokens(request, 8)).toBe(2 + 6 + 3 * 8);
  });
});

describe("an OpenAI option the host cannot honour", () => {
  const limits = { defaultMaxTokens: 64, maxTokens: 256 };
  const parse = (extra: Record<string, unknown>) => parseChatRequest({ messages: [{ role: "user", content: "Hi" }], ...extra }, limits);
  const refusal = (extra: Record<string, unknown>) => {
    try {
      parse(extra);
    } catch (error) {
      expect(error).toBeInstanceOf(HostError);
      expect((error as HostError).code).toBe("invalid_request");
      return (error as HostError).message;
    }
    throw new Error(`${JSON.stringify(extra)} was accepted`);
  };

  it.each([
    [{ top_p: 2 }, "top_p must be a number in 0..1"],
    [{ top_p: -0.1 }, "top_p must be a number in 0..1"],
    [{ tools: [{ type: "function", function: { name: "lookup" } }] }, "tools are not supported"],
    [{ presence_penalty: 5 }, "presence_penalty is not supported; leave it out or send 0"],
    [{ frequency_penalty: -9 }, "frequency_penalty is not supported; leave it out or send 0"],
    [{ response_format: { type: "json_object" } }, 'response_format is not supported; leave it out or send {"type":"text"}'],
    [{ response_format: "text" }, 'response_format is not supported; leave it out or send {"type":"text"}'],
    [{ logprobs: true }, "logprobs are not supported; leave logprobs out or send false"],
    [{ top_logprobs: 3 }, "logprobs are not supported; leave top_logprobs out or send 0"],
    [{ logit_bias: { "50256": -100 } }, "logit_bias is not supported; leave it out or send {}"],
    [{ modalities: ["text", "audio"] }, 'modalities is not supported; leave it out or send ["text"]'],
    [{ n: 2 }, "n must be 1"],
  ])("%j is refused with a 400 naming it", (extra, message) => {
    expect(refusal(extra)).toBe(message);
  });

  it("is accepted at the default a client sends explicitly (LangChain sends top_p 1, penalties 0, n 1)", () => {
    const parsed = parse({
      top_p: 1,
      presence_penalty: 0,
      frequency_penalty: 0,
      n: 1,
      logprobs: false,
      top_logprobs: 0,
      response_format: { type: "text" },
      logit_bias: {},
      modalities: ["text"],
    });
    expect(parsed.request).toEqual({ messages: [{ role: "user", content: "Hi" }], maxTokens: 64, topP: 1 });
  });

  it("is accepted as null, like the other nullable fields", () => {
    const fields = [
      "n",
      "top_p",
      "tools",
      "functions",
      "presence_penalty",
      "frequency_penalty",
      "logprobs",
      "top_logprobs",
      "response_format",
      "logit_bias",
      "modalities",
    ];
    const parsed = parse(Object.fromEntries(fields.map((field) => [field, null])));
    expect(parsed.request).toEqual({ messages: [{ role: "user", content: "Hi" }], maxTokens: 64 });
  });

  it("top_p in (0, 1] is passed to the backend, which honours it", () => {
    expect(parse({ top_p: 0.5 }).request.topP).toBe(0.5);
  });

  it("top_p 0 (OpenAI's 'the likeliest token only') is served as the smallest share the backends take", () => {
    expect(parse({ top_p: 0 }).request.topP).toBe(Number.MIN_VALUE);
  });

  it("no tools given as an empty list, and a text response_format with extra null fields, are accepted (frameworks send both)", () => {
    expect(parse({ tools: [], functions: [], response_format: { type: "text", json_schema: null } }).request).toEqual({
      messages: [{ role: "user", content: "Hi" }],
      maxTokens: 64,
    });
  });
});

describe("a message the host cannot serve", () => {
  const parse = (messages: unknown[]) => parseChatRequest({ messages }, { defaultMaxTokens: 64, maxTokens: 256 });

  it("an assistant message with tool calls is refused as a tool call, not as bad content", () => {
    const toolCall = { id: "call_1", type: "function", function: { name: "lookup", arguments: "{}" } };
    expect(() =>
      parse([
        { role: "user", content: "Hi" },
        { role: "assistant", content: null, tool_calls: [toolCall] },
      ]),
    ).toThrow("messages[1]: tool calls are not supported");
  });

  it("an assistant message with no tool calls (an empty list, or null) is served", () => {
    const parsed = parse([
      { role: "user", content: "Hi" },
      { role: "assistant", content: "Hello.", tool_calls: [], function_call: null },
      { role: "user", content: "Go on." },
    ]);
    expect(parsed.request.messages[1]).toEqual({ role: "assistant", content: "Hello." });
  });

  it("a tool message is refused as a tool message", () => {
    expect(() => parse([{ role: "tool", tool_call_id: "call_1", content: "42" }])).toThrow("messages[0]: tool messages are not supported");
  });

  it("a role the host does not know names the roles it accepts", () => {
    expect(() => parse([{ role: "robot", content: "Hi" }])).toThrow("messages[0].role must be system, developer, user or assistant");
  });
});
