import { describe, expect, it, vi } from "vitest";
import { UpstreamBadResponseError } from "../errors.ts";
import { parseChatCompletionChunk } from "./chatCompletionChunk.ts";
import { createChunkReader, parseJson } from "./chunkReader.ts";

const vllm = (content: unknown, extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    id: "chatcmpl-3f1c",
    object: "chat.completion.chunk",
    created: 1753871101,
    model: "Qwen/Qwen2.5-0.5B-Instruct",
    choices: [{ index: 0, delta: { content }, logprobs: null, finish_reason: null }],
    ...extra,
  });
const head = vllm("X").slice(0, vllm("X").indexOf('"X"'));
const tail = vllm("X").slice(head.length + 3);

/** What the reader gives for `data`, or the error it throws, beside what a full parse gives. */
function bothWays(read: (data: string) => unknown, data: string) {
  const outcome = (parse: () => unknown) => {
    try {
      return parse();
    } catch (error) {
      return { threw: (error as Error).constructor.name, message: (error as Error).message };
    }
  };
  return { read: outcome(() => read(data)), full: outcome(() => parseChatCompletionChunk(parseJson(data))) };
}

describe("createChunkReader", () => {
  it("reads every chunk of a stream exactly as a full parse does: escapes, quotes, non-ASCII, emoji, lone surrogates", () => {
    const read = createChunkReader();
    const contents = ["Hello", " world", 'say "hi"', "back\\slash", "tab\there", "line\nbreak", "é", "🙂", "\u2028", "</script>", "\ud800", "", "{}"];
    const events = [
      ...contents.map((content) => vllm(content)),
      `${head}"\\u00e9\\/\\b"${tail}`,
      vllm(null, { usage: { prompt_tokens: 3, completion_tokens: 12 } }),
      vllm("last").replace('"finish_reason":null', '"finish_reason":"stop"'),
    ];
    for (const data of events) {
      const { read: fast, full } = bothWays(read, data);
      expect(fast, data).toEqual(full);
    }
  });

  it("reads a token chunk like the first without JSON.parse once it has its template", () => {
    const read = createChunkReader();
    read(vllm("first"));
    const parse = vi.spyOn(JSON, "parse");
    try {
      expect(read(vllm(" second"))).toEqual({ text: " second", finishReason: undefined, usage: undefined });
      expect(read(vllm('"quoted"'))).toEqual({ text: '"quoted"', finishReason: undefined, usage: undefined });
      expect(parse).toHaveBeenCalledTimes(1);
      expect(parse).toHaveBeenLastCalledWith('"\\"quoted\\""');
    } finally {
      parse.mockRestore();
    }
  });

  it("takes its template from a later token chunk when the first differs (a role beside the first word), a few times at most", () => {
    const read = createChunkReader();
    const first = JSON.stringify({ choices: [{ index: 0, delta: { role: "assistant", content: "In" }, finish_reason: null }] });
    expect(read(first).text).toBe("In");
    read(vllm(" the"));
    const parse = vi.spyOn(JSON, "parse");
    try {
      expect(read(vllm(" beginning")).text).toBe(" beginning");
      expect(parse).not.toHaveBeenCalled();
    } finally {
      parse.mockRestore();
    }
    // A stream whose every chunk differs (a per-chunk nonce) stops trying after three.
    const nonces = createChunkReader();
    const probes = vi.spyOn(JSON, "parse");
    try {
      for (let index = 0; index < 10; index++) nonces(vllm(" word", { nonce: index }));
      // One parse per chunk, plus two probe parses for each of three attempts.
      expect(probes).toHaveBeenCalledTimes(10 + 3 * 2);
    } finally {
      probes.mockRestore();
    }
  });

  it("parses in full what only looks like the template around its content: several tokens, a number, an unterminated or raw-control literal", () => {
    const read = createChunkReader();
    read(vllm("first"));
    for (const middle of ['"a","x":"b"', '"a"],"usage":{"prompt_tokens":1,"completion_tokens":1},"c":["', "1", '"a', '"a\u0001"', '"\\x"', '"\\"', '""']) {
      const { read: fast, full } = bothWays(read, `${head}${middle}${tail}`);
      expect(fast, middle).toEqual(full);
    }
    expect(bothWays(read, `${head}"a${tail}`).read).toMatchObject({ threw: UpstreamBadResponseError.name });
  });

  it("makes no template of a chunk whose text is not its one content literal alone", () => {
    const twoChoices = JSON.stringify({
      choices: [
        { index: 0, delta: { content: "a" } },
        { index: 0, delta: { content: "b" } },
      ],
    });
    const read = createChunkReader();
    expect(read(twoChoices).text).toBe("ab");
    const other = JSON.stringify({
      choices: [
        { index: 0, delta: { content: "a" } },
        { index: 0, delta: { content: "c" } },
      ],
    });
    expect(read(other).text).toBe("ac");
    const repeated = createChunkReader();
    const echo = JSON.stringify({
      choices: [
        { index: 0, delta: { content: "a" } },
        { index: 1, delta: { content: "a" } },
      ],
    });
    expect(repeated(echo).text).toBe("a");
    const changed = JSON.stringify({
      choices: [
        { index: 0, delta: { content: "z" } },
        { index: 1, delta: { content: "a" } },
      ],
    });
    expect(repeated(changed).text).toBe("z");
  });
});
