import { keccak256, stringToHex, type Hex } from "viem";

/** A model's on-chain id, as the ModelRegistry computes it: keccak256 of "repo/file". */
export function modelIdOf(repo: string, file: string): Hex {
  return keccak256(stringToHex(`${repo}/${file}`));
}
