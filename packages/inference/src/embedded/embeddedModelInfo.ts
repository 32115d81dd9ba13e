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
  sha256: "0000000000000000000000000000000000000000000000000000000000000000",
  /** Absolute path of the GGUF file. */
  path: fileURLToPath(new URL("../../models/kjv-char-llama.gguf", import.meta.url)),
  /** Name served in `/v1/models`. */
  name: "kjv-char-llama",
  /** Tokens the model was trained to see at once. */
  contextSize: 256,
} as const;
