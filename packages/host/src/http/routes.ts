import type { ChatBackend } from "@session-jobs/inference";
import { hostPolicyEndpoint, sessionEndpoints, type HostPolicyDocument } from "@session-jobs/protocol";
import type { Address, Hex } from "viem";
import { createChatHandler } from "../session/chat.ts";
import type { Common } from "../common.ts";
import type { HostConfig } from "../config/config.ts";
import { HostError } from "../errors.ts";
import { readBody, sendJson, sendText } from "./httpIo.ts";
import { prometheusContentType } from "../observability/metrics.ts";
import type { ProofSubmitter } from "../chain/proofSubmitter.ts";
import type { Readiness } from "../observability/readiness.ts";
import type { Route } from "./server.ts";
import type { SessionProtocol } from "../session/sessionProtocol.ts";
import { createSessionRoutes } from "./sessionRoutes.ts";

export type CreateHostRoutesParameters = {
  common: Common;
  config: Pick<HostConfig, "limits" | "models" | "pricing"> & { server: Pick<HostConfig["server"], "maxBodyBytes" | "writeStallTimeoutMs"> };
  backend: ChatBackend;
  protocol: SessionProtocol;
  submitter: Pick<ProofSubmitter, "settle">;
  identity: { host: Address; chainId: number; marketplace: Address };
  /** The named checks `GET /ready` answers with. */
  readiness: Readiness;
  /** Aborts every generation (shutdown after the grace period). */
  stopGenerations: AbortSignal;
};

/** Every endpoint of the host node (docs/design.md, "HTTP session protocol"). */
export function createHostRoutes(parameters: CreateHostRoutesParameters): Route[] {
  const { common, config, backend, protocol, identity } = parameters;
  const handleChat = createChatHandler({ common, backend, protocol, limits: config.limits, stopGenerations: parameters.stopGenerations });
  const session = createSessionRoutes({
    common,
    protocol,
    submitter: parameters.submitter,
    maxBodyBytes: config.server.maxBodyBytes,
    writeStallTimeoutMs: config.server.writeStallTimeoutMs,
  });
  const models: Hex[] = config.models;
  const policy: HostPolicyDocument = {
    ...identity,
    model: { id: backend.modelId, modelIds: models },
    pricing: {
      minPricePerToken: config.pricing.minPricePerToken.toString(),
      minPricePerTokenNative: config.pricing.minPricePerTokenNative?.toString() ?? null,
    },
    limits: {
      maxCheckpointInterval: config.limits.maxCheckpointInterval,
      maxUnsignedTokens: config.limits.maxUnsignedTokens ?? null,
      maxTokens: config.limits.maxTokens,
      defaultMaxTokens: config.limits.defaultMaxTokens,
      maxBodyBytes: config.server.maxBodyBytes,
    },
  };
  return [
    { method: "GET", path: hostPolicyEndpoint, handler: (_request, response) => sendJson(response, 200, policy) },
    {
      method: "POST",
      path: sessionEndpoints.chat,
      handler: async (request, response) => handleChat(request, response, await readBody(request, config.server.maxBodyBytes)),
    },
    {
      method: "GET",
      path: "/v1/models",
      handler: (_request, response) =>
        sendJson(response, 200, { object: "list", data: [{ id: backend.modelId, object: "model", created: 0, owned_by: identity.host, model_ids: models }] }),
    },
    { method: "POST", path: sessionEndpoints.receipt, handler: session.receipt },
    { method: "POST", path: sessionEndpoints.close, handler: session.close },
    { method: "POST", path: sessionEndpoints.sync, handler: session.sync },
    { method: "GET", path: "/v1/session/:jobId", handler: session.describe },
    { method: "GET", path: "/health", handler: (_request, response) => sendJson(response, 200, { status: "ok" }) },
    {
      method: "GET",
      path: "/ready",
      handler: async (_request, response) => {
        const { ready, checks } = await parameters.readiness.report();
        if (ready) return sendJson(response, 200, { status: "ready", ...identity, checks });
        const failing = Object.entries(checks).filter(([, result]) => result !== "ok");
        const error = new HostError("not_ready", failing.map(([name, result]) => `${name}: ${result}`).join("; "));
        sendJson(response, error.status, { ...error.toJSON(), checks });
      },
    },
    { method: "GET", path: "/metrics", handler: async (_request, response) => sendText(response, 200, await common.metrics.render(), prometheusContentType) },
  ];
}
