import { getAddress, isAddress, isHex, type Address, type Hex } from "viem";
import type { HostUnreachableError, InvalidHostUrlError, SessionHostError } from "../errors/host.ts";
import { SessionProtocolError } from "../errors/session.ts";
import { hostPolicyEndpoint } from "@session-jobs/protocol";
import { assertHostUrl } from "../session/hostUrl.ts";
import { getJson, hostEndpoint, type HostRequestOptions } from "../session/transport.ts";

export type GetHostPolicyParameters = HostRequestOptions & {
  /** The host's base URL, as registered on chain (`getHostInfo(…).apiUrl`). */
  hostUrl: string;
};

/** A host's published policy (`GET /v1/host`), decoded. */
export type HostPolicy = {
  host: Address;
  chainId: number;
  marketplace: Address;
  model: { id: string; modelIds: Hex[] };
  pricing: { minPricePerToken: bigint; minPricePerTokenNative: bigint | undefined };
  limits: {
    /** The largest checkpoint interval the host serves; open sessions at or below it. */
    maxCheckpointInterval: bigint;
    maxUnsignedTokens: bigint | undefined;
    maxTokens: number;
    defaultMaxTokens: number;
    maxBodyBytes: number;
  };
};

export type GetHostPolicyReturnType = HostPolicy;

export type GetHostPolicyErrorType = InvalidHostUrlError | HostUnreachableError | SessionHostError | SessionProtocolError;

/**
 * Reads the terms a host serves on (its off-chain policy), so that a session can be opened that
 * the host will accept: a checkpoint interval at most `limits.maxCheckpointInterval`, a price at
 * least the minimum. Every field is checked; a malformed answer is a {@link SessionProtocolError}.
 * A `hostUrl` that cannot be a host's base URL (not http(s), credentials, a query or fragment) is an {@link InvalidHostUrlError}, nothing sent.
 *
 * @example
 * const policy = await getHostPolicy({ hostUrl: info.apiUrl });
 * const proofInterval = policy.limits.maxCheckpointInterval < 1000n ? policy.limits.maxCheckpointInterval : 1000n;
 */
export async function getHostPolicy(parameters: GetHostPolicyParameters): Promise<GetHostPolicyReturnType> {
  assertHostUrl(parameters.hostUrl);
  const url = hostEndpoint(parameters, hostPolicyEndpoint);
  return parseHostPolicy(await getJson(url, parameters));
}

function parseHostPolicy(json: unknown): HostPolicy {
  const fail = (field: string): never => {
    throw new SessionProtocolError(`The host's policy has no valid \`${field}\`.`);
  };
  const object = (value: unknown, field: string): Record<string, unknown> =>
    typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : fail(field);
  const count = (value: unknown, field: string) => (typeof value === "number" && Number.isSafeInteger(value) && value > 0 ? value : fail(field));
  const amount = (value: unknown, field: string) => (typeof value === "string" && /^\d{1,78}$/.test(value) ? BigInt(value) : fail(field));
  const address = (value: unknown, field: string) => (typeof value === "string" && isAddress(value, { strict: false }) ? getAddress(value) : fail(field));

  const answer = object(json, "(root)");
  const model = object(answer.model, "model");
  const pricing = object(answer.pricing, "pricing");
  const limits = object(answer.limits, "limits");
  if (typeof model.id !== "string") fail("model.id");
  if (!Array.isArray(model.modelIds) || !model.modelIds.every((id) => typeof id === "string" && isHex(id) && id.length === 66)) fail("model.modelIds");
  return {
    host: address(answer.host, "host"),
    chainId: count(answer.chainId, "chainId"),
    marketplace: address(answer.marketplace, "marketplace"),
    model: { id: model.id as string, modelIds: model.modelIds as Hex[] },
    pricing: {
      minPricePerToken: amount(pricing.minPricePerToken, "pricing.minPricePerToken"),
      minPricePerTokenNative: pricing.minPricePerTokenNative === null ? undefined : amount(pricing.minPricePerTokenNative, "pricing.minPricePerTokenNative"),
    },
    limits: {
      maxCheckpointInterval: BigInt(count(limits.maxCheckpointInterval, "limits.maxCheckpointInterval")),
      maxUnsignedTokens: limits.maxUnsignedTokens === null ? undefined : BigInt(count(limits.maxUnsignedTokens, "limits.maxUnsignedTokens")),
      maxTokens: count(limits.maxTokens, "limits.maxTokens"),
      defaultMaxTokens: count(limits.defaultMaxTokens, "limits.defaultMaxTokens"),
      maxBodyBytes: count(limits.maxBodyBytes, "limits.maxBodyBytes"),
    },
  };
}
