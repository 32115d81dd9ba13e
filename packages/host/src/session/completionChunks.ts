/** What every `chat.completion.chunk` of one streamed answer repeats. */
export type CompletionChunkFields = { id: string; created: number; model: string };

/**
 * Encodes the `chat.completion.chunk` events of one streamed answer as JSON. `content`, called once
 * per token, splices `JSON.stringify(text)` between two halves encoded once per answer: the same
 * bytes as `delta({ content: text })` (a test holds them equal), without building and walking an
 * object per token.
 */
export function createCompletionChunks({ id, created, model }: CompletionChunkFields) {
  const chunk = (fields: Record<string, unknown>) => JSON.stringify({ id, object: "chat.completion.chunk", created, model, ...fields });
  const delta = (content: Record<string, unknown>, finishReason: string | null = null) =>
    chunk({ choices: [{ index: 0, delta: content, logprobs: null, finish_reason: finishReason }] });
  const empty = delta({ content: "" });
  const at = empty.lastIndexOf('"content":""') + '"content":'.length;
  const [contentHead, contentTail] = [empty.slice(0, at), empty.slice(at + 2)];
  return {
    chunk,
    delta,
    content: (text: string) => `${contentHead}${JSON.stringify(text)}${contentTail}`,
  };
}
