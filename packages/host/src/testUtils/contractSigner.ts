/**
 * A session signer with code, as an EIP-7702 delegation (or an ERC-1271 wallet) gives it: bytecodes
 * of `isValidSignature` to put at the session key's address with `anvil_setCode`, and receipts that
 * only that code can vouch for.
 */
import type { Hex } from "viem";

export const signerCode = {
  /** Always answers the ERC-1271 magic value. */
  valid: "0x631626ba7e60e01b60005260206000f3",
  /** Reverts: the signer revoked what it signed. */
  revoked: "0x60006000fd",
  /** The magic value only when tx.origin is zero (a call from nobody), else a revert. */
  callsFromNobody: "0x3215600957600080fd5b631626ba7e60e01b60005260206000f3",
  /** The magic value only when tx.gasprice is zero (any eth_call), else a revert: valid to every call, invalid in every transaction. */
  callsOnly: "0x3a15600957600080fd5b631626ba7e60e01b60005260206000f3",
  /**
   * The magic value when tx.gasprice is zero (any eth_call, a gas estimate), else a loop that burns all
   * the gas it is given: a transaction's gas, estimated without that burn, runs out, reverting it whole.
   */
  burnsGasInTransactions: "0x3a156009575b6005565b631626ba7e60e01b60005260206000f3",
} as const satisfies Record<string, Hex>;

/** Posts a receipt for the client's transcript whose signature (two junk bytes) only the signer's code can vouch for. */
export const sendContractReceipt = (url: string, client: { cumulativeTokens: bigint; transcriptHash: Hex }, jobId: bigint) =>
  fetch(`${url}/v1/session/receipt`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      jobId: jobId.toString(),
      cumulativeTokens: client.cumulativeTokens.toString(),
      transcriptHash: client.transcriptHash,
      signature: "0x1234",
    }),
  });
