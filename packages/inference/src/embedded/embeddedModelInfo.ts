import { fileURLToPath } from "node:url";

/**
 * The model shipped in this repository (trained by `npm run train`, see the package README).
 * On chain its id is `keccak256(repo + "/" + fileName)`, with `sha256` recorded in the registry.
 */
export const embeddedModelInfo = {
  /** Registry "repository" of the model. */
  repo: "session-jobs/kjv-bpe-llama",
  fileName: "kjv-bpe-llama.gguf",
  /** sha256 of the GGUF file, hex. */
  sha256: "3749747be0f6cc664b9e1e2450a04c8ab33f61760dbc672a1561655d25aefd9d",
  /** Absolute path of the GGUF file. */
  path: fileURLToPath(new URL("../../models/kjv-bpe-llama.gguf", import.meta.url)),
  /** Name served in `/v1/models`. */
  name: "kjv-bpe-llama",
  /** Tokens the model was trained to see at once. */
  contextSize: 256,
} as const;
