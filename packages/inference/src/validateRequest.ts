import { InvalidRequestError } from "./errors.ts";
import type { ChatRequest } from "./types.ts";

const roles = new Set(["system", "user", "assistant"]);

/** Checks a request's shape and ranges (requests reach backends from untrusted HTTP bodies). */
export function validateRequest(request: ChatRequest): void {
  if (!Array.isArray(request?.messages) || request.messages.length === 0) {
    throw new InvalidRequestError("`messages` must be a non-empty array.");
  }
  request.messages.forEach((message, i) => {
    if (!roles.has(message?.role)) throw new InvalidRequestError(`messages[${i}].role must be system, user or assistant.`);
    if (typeof message.content !== "string") throw new InvalidRequestError(`messages[${i}].content must be a string.`);
  });
  const { maxTokens, temperature, topP, stop, seed } = request;
  if (maxTokens !== undefined && (!Number.isSafeInteger(maxTokens) || maxTokens < 1)) {
    throw new InvalidRequestError("`maxTokens` must be a positive integer.");
  }
  if (temperature !== undefined && !(Number.isFinite(temperature) && temperature >= 0 && temperature <= 2)) {
    throw new InvalidRequestError("`temperature` must be between 0 and 2.");
  }
  if (topP !== undefined && !(Number.isFinite(topP) && topP > 0 && topP <= 1)) {
    throw new InvalidRequestError("`topP` must be in (0, 1].");
  }
  if (stop !== undefined && !(Array.isArray(stop) && stop.length <= 16 && stop.every((s) => typeof s === "string"))) {
    throw new InvalidRequestError("`stop` must be an array of at most 16 strings.");
  }
  if (seed !== undefined && !Number.isSafeInteger(seed)) throw new InvalidRequestError("`seed` must be an integer.");
}
