import { createEmbeddedBackend, createOpenAICompatibleBackend, type ChatBackend } from "@session-jobs/inference";
import type { BackendConfig } from "./config/config.ts";

/**
 * Builds the configured model backend: the embedded model (in process, CPU) or an
 * OpenAI-compatible server. The caller closes it after the node stops.
 */
export async function createBackend(config: BackendConfig): Promise<ChatBackend> {
  if (config.type === "embedded")
    return createEmbeddedBackend({
      ...(config.modelPath !== undefined && { modelPath: config.modelPath }),
      ...(config.threads !== undefined && { threads: config.threads }),
    });
  const { url, type: _type, ...upstream } = config;
  return createOpenAICompatibleBackend({ baseUrl: url, ...upstream });
}
