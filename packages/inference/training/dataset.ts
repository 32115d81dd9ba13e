import { turnTokens } from "../src/chatTemplate.ts";
import type { ChatMessage } from "../src/types.ts";
import type { Verse } from "./corpus.ts";
import type { Rng } from "./rng.ts";
import type { Tokenizer } from "./tokenizer.ts";

/** System prompts seen now and then in training, so that a system turn does not derail the model. */
const systemPrompts = ["You are a helpful assistant.", "Quote the King James Bible.", "Continue the verse.", "Answer in the words of the King James Version."];

/**
 * The chat turns one verse becomes: either its reference asks for the verse
 * ("John 3:16" → "For God so loved…"), or its first words ask for the rest
 * ("For God so loved the world," → "that he gave his only begotten Son, …").
 */
export function verseExchange(verse: Verse, rng: Rng): ChatMessage[] {
  const words = verse.text.split(" ");
  if (words.length < 4 || rng.next() < 0.4) {
    return [
      { role: "user", content: `${verse.book} ${verse.chapter}:${verse.verse}` },
      { role: "assistant", content: verse.text },
    ];
  }
  const cut = 1 + Math.floor((0.2 + 0.45 * rng.next()) * (words.length - 2));
  return [
    { role: "user", content: words.slice(0, cut).join(" ") },
    { role: "assistant", content: words.slice(cut).join(" ") },
  ];
}

/** A training window: `inputs[i]` predicts `targets[i]`; `assistantText[i]` marks targets that are verse text said by the assistant. */
export type Window = { inputs: number[]; targets: number[]; assistantText: boolean[] };

/**
 * A conversation over consecutive verses from `start`, in the chat template, cut to `length`
 * predictions: `<s>[<|system|>…]<|user|>…<|assistant|>…</s><|user|>…`.
 */
export function conversationWindow(tokenizer: Tokenizer, verses: readonly Verse[], start: number, length: number, rng: Rng): Window {
  const { templateTokenIds: ids, encode } = tokenizer;
  const tokens: number[] = [ids.beginning];
  const inAssistantText: boolean[] = [false];
  const push = (turn: number[], assistant: boolean) => {
    turn.forEach((_, i) => inAssistantText.push(assistant && i > 0 && i < turn.length - 1));
    tokens.push(...turn);
  };
  if (rng.next() < 0.1) {
    push(turnTokens({ role: "system", content: systemPrompts[rng.int(systemPrompts.length)]! }, ids, encode), false);
  }
  for (let i = start; tokens.length <= length; i = (i + 1) % verses.length) {
    for (const message of verseExchange(verses[i]!, rng)) push(turnTokens(message, ids, encode), message.role === "assistant");
  }
  return {
    inputs: tokens.slice(0, length),
    targets: tokens.slice(1, length + 1),
    assistantText: inAssistantText.slice(1, length + 1),
  };
}

/** Splits verses into training and validation sets by chapter: every 20th chapter is held out. */
export function splitByChapter(verses: readonly Verse[]): { train: Verse[]; validation: Verse[] } {
  const train: Verse[] = [];
  const validation: Verse[] = [];
  let chapterIndex = -1;
  let previous = "";
  for (const verse of verses) {
    const key = `${verse.book} ${verse.chapter}`;
    if (key !== previous) {
      chapterIndex++;
      previous = key;
    }
    (chapterIndex % 20 === 19 ? validation : train).push(verse);
  }
  return { train, validation };
}
