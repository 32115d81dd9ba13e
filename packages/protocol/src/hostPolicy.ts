import type { Address, Hex } from "viem";

/** Where a host publishes its policy (public, unsigned). */
export const hostPolicyEndpoint = "/v1/host";

/**
 * The JSON of `GET /v1/host`: who the host is, what it serves, its minimum prices and the session
 * terms it accepts. Amounts in base units are decimal strings; `null` means "no such limit".
 */
export type HostPolicyDocument = {
  host: Address;
  chainId: number;
  marketplace: Address;
  /** The served model's name (as in `/v1/models`) and the on-chain model ids it answers for. */
  model: { id: string; modelIds: Hex[] };
  pricing: { minPricePerToken: string; minPricePerTokenNative: string | null };
  limits: {
    /** Sessions with a larger checkpoint interval are refused (`session_terms_refused`). */
    maxCheckpointInterval: number;
    /** Most unsigned tokens carried per session, whatever its interval. */
    maxUnsignedTokens: number | null;
    /** Highest `max_tokens` a request may ask for, and the default when it names none. */
    maxTokens: number;
    defaultMaxTokens: number;
    /** Largest request body accepted. */
    maxBodyBytes: number;
  };
};
