import { ContextOverflowError } from "./errors.ts";
import type { ChatMessage } from "./types.ts";

/**
 * The chat template of our embedded models. Each turn opens with a control token; an assistant
 * turn closes with the end marker `</s>`, which the model learned to emit:
 *
 *     <s><|system|>…<|user|>…<|assistant|>…</s><|user|>…<|assistant|>
 *
 * Control tokens are single vocabulary entries that no text tokenizes to, so message content
 * cannot forge a turn.
 */
export const chatTemplateTokenTexts = {
  beginning: "<s>",
  endOfTurn: "</s>",
  system: "<|system|>",
  user: "<|user|>",
  assistant: "<|assistant|>",
} as const;

/** The same template in Jinja, written into the GGUF for servers that read `tokenizer.chat_template`. */
export const chatTemplateJinja =
  "{{ bos_token }}{% for message in messages %}" +
  "{% if message['role'] == 'assistant' %}<|assistant|>{{ message['content'] }}{{ eos_token }}" +
  "{% else %}<|{{ message['role'] }}|>{{ message['content'] }}{% endif %}" +
  "{% endfor %}{% if add_generation_prompt %}<|assistant|>{% endif %}";

export type ChatTemplateTokenIds = { [K in keyof typeof chatTemplateTokenTexts]: number };

/** Tokenizes message content as plain text (control-token text in it stays text). */
export type TokenizeText = (text: string) => number[];

/** The tokens of one turn. */
export function turnTokens(message: ChatMessage, ids: ChatTemplateTokenIds, tokenize: TokenizeText): number[] {
  const content = tokenize(message.content);
  if (message.role === "assistant") return [ids.assistant, ...content, ids.endOfTurn];
  return [ids[message.role], ...content];
}

export type BuildPromptParameters = {
  messages: readonly ChatMessage[];
  ids: ChatTemplateTokenIds;
  tokenize: TokenizeText;
  /** Most tokens the prompt may have. */
  maxPromptTokens: number;
  /**
   * What to do with a conversation longer than `maxPromptTokens`: `truncate` keeps the newest
   * turns that fit and, if the newest turn alone is too long, its last tokens (as a model with a
   * sliding window would see it); `error` throws {@link ContextOverflowError}.
   */
  overflow: "truncate" | "error";
  /** Reported in a {@link ContextOverflowError}. */
  contextSize: number;
};

export type BuiltPrompt = {
  tokens: number[];
  /** Turns left out, oldest first, to fit the context. */
  droppedTurns: number;
};

/** Renders messages into the prompt tokens the model evaluates, ending with `<|assistant|>`. */
export function buildPrompt(parameters: BuildPromptParameters): BuiltPrompt {
  const { messages, ids, tokenize, maxPromptTokens } = parameters;
  const turns = messages.map((message) => turnTokens(message, ids, tokenize));
  const fullLength = 2 + turns.reduce((sum, turn) => sum + turn.length, 0);
  if (fullLength <= maxPromptTokens) return { tokens: [ids.beginning, ...turns.flat(), ids.assistant], droppedTurns: 0 };
  if (parameters.overflow === "error") {
    throw new ContextOverflowError({ promptTokens: fullLength, contextSize: parameters.contextSize });
  }

  let budget = maxPromptTokens - 2;
  let firstKept = turns.length;
  while (firstKept > 0 && turns[firstKept - 1]!.length <= budget) {
    firstKept--;
    budget -= turns[firstKept]!.length;
  }
  const kept = turns.slice(firstKept).flat();
  if (firstKept === turns.length) {
    // Not even the newest turn fits: keep its role token and the end of its content.
    const newest = turns[turns.length - 1]!;
    if (budget < 2) throw new ContextOverflowError({ promptTokens: fullLength, contextSize: parameters.contextSize });
    kept.push(newest[0]!, ...newest.slice(newest.length - (budget - 1)));
    return { tokens: [ids.beginning, ...kept, ids.assistant], droppedTurns: turns.length - 1 };
  }
  return { tokens: [ids.beginning, ...kept, ids.assistant], droppedTurns: firstKept };
}
