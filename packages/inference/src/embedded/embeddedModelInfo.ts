import { fileURLToPath } from "node:url";

/**
 * The model shipped in this repository (trained by `npm run train`, see the package README).
 * On chain its id is `keccak256(repo + "/" + fileName)`, with `sha256` recorded in the registry.
 */
export const embeddedModelInfo = {
  /** Registry "repository" of the model. */
  repo: "session-jobs/kjv-char-llama",
  fileName: "kjv-char-llama.gguf",
  /** sha256 of the GGUF file, hex. */
  sha256: "97bc6699f6e5b8cf14f8c6f48038792063f020b2ef42c3b71b3180c833643c9a",
  /** Absolute path of the GGUF file. */
  path: fileURLToPath(new URL("../../models/kjv-char-llama.gguf", import.meta.url)),
  /** Name served in `/v1/models`. */
  name: "kjv-char-llama",
  /** Tokens the model was trained to see at once. */
  contextSize: 256,
} as const;
