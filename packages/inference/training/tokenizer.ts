import { chatTemplateTokenTexts, type ChatTemplateTokenIds } from "../src/chatTemplate.ts";

/**
 * The subword tokenizer of our models, laid out as llama.cpp's SentencePiece ("llama") tokenizer
 * expects it, so that llama.cpp tokenizes text exactly as {@link Tokenizer.encode} does:
 * - control tokens: `<unk>`, `<s>`, `</s>` and the chat template's role tokens (one token each,
 *   which no text tokenizes to);
 * - 256 byte tokens `<0x00>`…`<0xFF>`: a character outside the vocabulary falls back to its
 *   UTF-8 bytes, so every string has a tokenization and every token is at least one byte;
 * - the 95 printable ASCII characters, space written as "▁" (U+2581) as SentencePiece does;
 * - subword pieces learnt by byte-pair encoding on the corpus ({@link trainPieces}), scored by
 *   the order they were learnt in (earlier = higher).
 * Encoding is llama.cpp's SentencePiece algorithm (`llm_tokenizer_spm`): start from the
 * characters, and repeatedly merge the adjacent pair whose concatenation is the highest-scoring
 * vocabulary entry (leftmost on ties); characters outside the vocabulary become byte tokens.
 */

/** llama.cpp's token types (`llama_token_type`). */
export const TokenType = { normal: 1, unknown: 2, control: 3, byte: 6 } as const;

export type VocabEntry = { text: string; type: number; score: number };

const SPACE_PIECE = "\u2581";
const controlTexts = ["<unk>", ...Object.values(chatTemplateTokenTexts)];
const BYTE_BASE = controlTexts.length;
const utf8 = new TextEncoder();

/** The entries every vocabulary starts with: control tokens, byte tokens, printable ASCII. */
export const baseVocabulary: readonly VocabEntry[] = [
  ...controlTexts.map((text) => ({ text, type: text === "<unk>" ? TokenType.unknown : TokenType.control, score: 0 })),
  ...Array.from({ length: 256 }, (_, byte) => ({
    text: `<0x${byte.toString(16).toUpperCase().padStart(2, "0")}>`,
    type: TokenType.byte,
    score: 0,
  })),
  ...Array.from({ length: 0x7f - 0x20 }, (_, i) => ({
    text: i === 0 ? SPACE_PIECE : String.fromCharCode(0x20 + i),
    type: TokenType.normal,
    score: 0,
  })),
];

/** The vocabulary of `pieces` (subwords in the order learnt, space as "▁") after the base entries. */
export function vocabularyWithPieces(pieces: readonly string[]): VocabEntry[] {
  return [...baseVocabulary, ...pieces.map((text, i) => ({ text, type: TokenType.normal, score: -(i + 1) }))];
}

export class Tokenizer {
  readonly vocabSize: number;
  readonly unknownTokenId = 0;
  readonly templateTokenIds: ChatTemplateTokenIds;
  private readonly ids = new Map<string, number>();

  constructor(readonly vocabulary: readonly VocabEntry[]) {
    this.vocabSize = vocabulary.length;
    // Like llama.cpp's token_to_id: every entry's text, control and byte tokens included.
    vocabulary.forEach((entry, id) => this.ids.set(entry.text, id));
    baseVocabulary.forEach((entry, id) => {
      const found = vocabulary[id];
      if (found?.text !== entry.text || found.type !== entry.type) throw new Error(`vocabulary entry ${id} must be ${entry.text}`);
    });
    if (this.ids.size !== vocabulary.length) throw new Error("vocabulary entries must be distinct");
    const idOf = (text: string) => this.ids.get(text)!;
    this.templateTokenIds = {
      beginning: idOf(chatTemplateTokenTexts.beginning),
      endOfTurn: idOf(chatTemplateTokenTexts.endOfTurn),
      system: idOf(chatTemplateTokenTexts.system),
      user: idOf(chatTemplateTokenTexts.user),
      assistant: idOf(chatTemplateTokenTexts.assistant),
    };
  }

  /** Tokenizes text as llama.cpp does for this vocabulary (no control tokens are parsed). */
  encode = (text: string): number[] => {
    const symbols = Array.from(text.replaceAll(" ", SPACE_PIECE));
    const n = symbols.length;
    const next = Int32Array.from({ length: n }, (_, i) => (i + 1 < n ? i + 1 : -1));
    const prev = Int32Array.from({ length: n }, (_, i) => i - 1);
    const alive = new Uint8Array(n).fill(1);
    const queue = new BigramQueue();
    const tryAdd = (left: number, right: number) => {
      if (left < 0 || right < 0) return;
      const merged = symbols[left]! + symbols[right]!;
      const id = this.ids.get(merged);
      if (id !== undefined) queue.push({ left, right, score: this.vocabulary[id]!.score, text: merged });
    };
    for (let i = 1; i < n; i++) tryAdd(i - 1, i);
    for (let bigram = queue.pop(); bigram; bigram = queue.pop()) {
      const { left, right } = bigram;
      // Stale: one side was merged away or grew since this pair was queued.
      if (!alive[left] || !alive[right] || symbols[left]! + symbols[right]! !== bigram.text) continue;
      symbols[left] = bigram.text;
      alive[right] = 0;
      next[left] = next[right]!;
      if (next[right]! >= 0) prev[next[right]!] = left;
      tryAdd(prev[left]!, left);
      tryAdd(left, next[left]);
    }
    const out: number[] = [];
    for (let i = n > 0 ? 0 : -1; i >= 0; i = next[i]!) {
      const id = this.ids.get(symbols[i]!);
      if (id !== undefined) out.push(id);
      else for (const byte of utf8.encode(symbols[i])) out.push(BYTE_BASE + byte);
    }
    return out;
  };

  /** The text of tokens; control tokens render as nothing. */
  decode = (ids: readonly number[]): string => new TextDecoder().decode(this.bytes(ids));

  /** The UTF-8 bytes that tokens stand for (none for control tokens). */
  bytes(ids: readonly number[]): Uint8Array {
    const bytes: number[] = [];
    for (const id of ids) {
      const entry = this.vocabulary[id];
      if (entry === undefined) throw new RangeError(`token id ${id} is outside the vocabulary`);
      if (entry.type === TokenType.byte) bytes.push(id - BYTE_BASE);
      else if (entry.type === TokenType.normal) bytes.push(...utf8.encode(entry.text.replaceAll(SPACE_PIECE, " ")));
    }
    return Uint8Array.from(bytes);
  }

  /** True for the tokens of plain text (pieces and bytes), false for control tokens. */
  isTextToken = (id: number): boolean => id >= BYTE_BASE;
}

type Bigram = { left: number; right: number; score: number; text: string };

/** A binary heap of bigrams: highest score first, then leftmost (llama.cpp's `llm_bigram_spm::comparator`). */
class BigramQueue {
  private readonly heap: Bigram[] = [];
  private static before(a: Bigram, b: Bigram): boolean {
    return a.score > b.score || (a.score === b.score && a.left < b.left);
  }
  push(item: Bigram): void {
    const h = this.heap;
    h.push(item);
    for (let i = h.length - 1; i > 0;) {
      const parent = (i - 1) >> 1;
      if (!BigramQueue.before(h[i]!, h[parent]!)) break;
      [h[i], h[parent]] = [h[parent]!, h[i]!];
      i = parent;
    }
  }
  pop(): Bigram | undefined {
    const h = this.heap;
    const top = h[0];
    const last = h.pop();
    if (h.length > 0 && last) {
      h[0] = last;
      for (let i = 0; ;) {
        const l = 2 * i + 1,
          r = l + 1;
        let best = i;
        if (l < h.length && BigramQueue.before(h[l]!, h[best]!)) best = l;
        if (r < h.length && BigramQueue.before(h[r]!, h[best]!)) best = r;
        if (best === i) break;
        [h[i], h[best]] = [h[best]!, h[i]!];
        i = best;
      }
    }
    return top;
  }
}

/**
 * Learns `count` subword pieces by byte-pair encoding over the words of `texts`: a word is a run
 * of letters or digits with the space before it ("▁the"), or one other character, so pieces
 * never span words. Each round merges the most frequent adjacent pair (the first seen on ties),
 * so the same texts give the same pieces.
 */
export function trainPieces(texts: Iterable<string>, count: number): string[] {
  const wordCounts = new Map<string, number>();
  for (const text of texts) {
    for (const word of text.replaceAll(" ", SPACE_PIECE).match(/▁?[A-Za-z]+|▁?[0-9]+|▁?[^A-Za-z0-9▁]|▁/gu) ?? []) {
      wordCounts.set(word, (wordCounts.get(word) ?? 0) + 1);
    }
  }
  const words = [...wordCounts].map(([word, n]) => ({ symbols: Array.from(word), n }));
  const known = new Set(baseVocabulary.map((entry) => entry.text));
  const pieces: string[] = [];
  while (pieces.length < count) {
    const pairs = new Map<string, number>();
    for (const { symbols, n } of words) {
      for (let i = 0; i + 1 < symbols.length; i++) {
        const key = `${symbols[i]}\u0000${symbols[i + 1]}`;
        pairs.set(key, (pairs.get(key) ?? 0) + n);
      }
    }
    let best: string | undefined;
    let bestCount = 0;
    for (const [key, n] of pairs) if (n > bestCount) [best, bestCount] = [key, n];
    if (best === undefined) break;
    const [a, b] = best.split("\u0000") as [string, string];
    const merged = a + b;
    for (const word of words) {
      const s = word.symbols;
      for (let i = 0; i + 1 < s.length; i++) if (s[i] === a && s[i + 1] === b) s.splice(i, 2, merged);
    }
    if (!known.has(merged)) {
      known.add(merged);
      pieces.push(merged);
    }
  }
  return pieces;
}
