import { chatTemplateTokenTexts, type ChatTemplateTokenIds } from "../src/chatTemplate.ts";

/**
 * The vocabulary of our character-level model, laid out as llama.cpp's SentencePiece ("llama")
 * tokenizer expects it, so that llama.cpp tokenizes text exactly as {@link encode} does:
 * - control tokens: `<unk>`, `<s>`, `</s>` and the chat template's role tokens;
 * - 256 byte tokens `<0x00>`…`<0xFF>`: any character outside the vocabulary falls back to its
 *   UTF-8 bytes, so every string has a tokenization;
 * - the 95 printable ASCII characters, space written as "▁" (U+2581) as SentencePiece does.
 * With single characters only, no SentencePiece merge applies: one ASCII character is one token.
 */

/** llama.cpp's token types (`llama_token_type`). */
export const TokenType = { normal: 1, unknown: 2, control: 3, byte: 6 } as const;

const SPACE_PIECE = "\u2581";
const controlTexts = ["<unk>", ...Object.values(chatTemplateTokenTexts)];
const BYTE_BASE = controlTexts.length;
const CHAR_BASE = BYTE_BASE + 256;

export type VocabEntry = { text: string; type: number };

export const vocabulary: readonly VocabEntry[] = [
  ...controlTexts.map((text) => ({ text, type: text === "<unk>" ? TokenType.unknown : TokenType.control })),
  ...Array.from({ length: 256 }, (_, byte) => ({
    text: `<0x${byte.toString(16).toUpperCase().padStart(2, "0")}>`,
    type: TokenType.byte,
  })),
  ...Array.from({ length: 0x7f - 0x20 }, (_, i) => ({
    text: i === 0 ? SPACE_PIECE : String.fromCharCode(0x20 + i),
    type: TokenType.normal,
  })),
];

export const vocabSize = vocabulary.length;
export const unknownTokenId = 0;

const idOf = (text: string): number => vocabulary.findIndex((entry) => entry.text === text);
export const templateTokenIds: ChatTemplateTokenIds = {
  beginning: idOf(chatTemplateTokenTexts.beginning),
  endOfTurn: idOf(chatTemplateTokenTexts.endOfTurn),
  system: idOf(chatTemplateTokenTexts.system),
  user: idOf(chatTemplateTokenTexts.user),
  assistant: idOf(chatTemplateTokenTexts.assistant),
};

const charIds = new Map<string, number>();
for (let id = CHAR_BASE; id < vocabSize; id++) charIds.set(vocabulary[id]!.text, id);
const utf8 = new TextEncoder();

/** Tokenizes text as llama.cpp does for this vocabulary (no control tokens are parsed). */
export function encode(text: string): number[] {
  const ids: number[] = [];
  for (const char of text) {
    const id = charIds.get(char === " " ? SPACE_PIECE : char);
    if (id !== undefined) ids.push(id);
    else for (const byte of utf8.encode(char)) ids.push(BYTE_BASE + byte);
  }
  return ids;
}

/** The text of tokens; control tokens render as nothing. */
export function decode(ids: readonly number[]): string {
  const bytes: number[] = [];
  for (const id of ids) {
    const entry = vocabulary[id];
    if (entry === undefined) throw new RangeError(`token id ${id} is outside the vocabulary`);
    if (entry.type === TokenType.byte) bytes.push(id - BYTE_BASE);
    else if (entry.type === TokenType.normal) bytes.push(...utf8.encode(entry.text === SPACE_PIECE ? " " : entry.text));
  }
  return new TextDecoder().decode(new Uint8Array(bytes));
}

/** True for the tokens of plain text (characters and bytes), false for control tokens. */
export function isTextToken(id: number): boolean {
  return id >= BYTE_BASE;
}
