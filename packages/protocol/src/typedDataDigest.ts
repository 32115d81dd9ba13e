import { domainSeparator, getTypesForEIP712Domain, hexToBytes, stringToBytes, validateTypedData, type Hex, type TypedDataDefinition } from "viem";
import { bytes32Word, uint256Word } from "./abiWords.ts";
import { sessionJobsDomain } from "./eip712.ts";
import { keccak256Bytes, keccak256Hex } from "./keccak.ts";
import type { SessionDomainParameters } from "./signatures.ts";

/** A flat EIP-712 struct type: one primary type whose fields are `uint256`, `bytes32` or `string`. */
type FlatStructTypes = Record<string, readonly { readonly name: string; readonly type: string }[]>;

/** The field types {@link createTypedDataDigest} encodes; a struct with any other is refused when the digest is made. */
const encodable = new Set(["uint256", "bytes32", "string"]);
/** Distinct domains and strings kept: a node serves a handful of each; past this the cache starts afresh. */
const cacheLimit = 64;

/** A bounded memo: the same domain or endpoint is hashed once, not on every signature. */
function memo<Input>(compute: (input: Input) => Uint8Array): (key: string, input: Input) => Uint8Array {
  const values = new Map<string, Uint8Array>();
  return (key, input) => {
    let value = values.get(key);
    if (value === undefined) {
      if (values.size >= cacheLimit) values.clear();
      value = compute(input);
      values.set(key, value);
    }
    return value;
  };
}

/** The domain separator of the session domain, validated as viem's `hashTypedData` does (chain id range, checksummed address). */
const sessionDomainSeparator = memo((parameters: SessionDomainParameters) => {
  const domain = sessionJobsDomain(parameters);
  const definition: TypedDataDefinition = { domain, types: { EIP712Domain: getTypesForEIP712Domain({ domain }) }, primaryType: "EIP712Domain", message: {} };
  validateTypedData(definition);
  return hexToBytes(domainSeparator({ domain }));
});

const stringHash = memo((value: string) => keccak256Bytes(stringToBytes(value)));

/** One field's 32-byte word, refusing what viem's typed-data validation refuses (an integer out of range, a hash of the wrong size). */
function encodeField(name: string, type: string, value: unknown): Uint8Array {
  if (type === "string") {
    if (typeof value !== "string") throw new TypeError(`EIP-712 field ${name} (string) is not a string.`);
    return stringHash(value, value);
  }
  return type === "bytes32" ? bytes32Word(`EIP-712 field ${name}`, value) : uint256Word(`EIP-712 field ${name}`, value);
}

/**
 * The EIP-712 digest of one flat struct type in the session domain, equal to viem's
 * `hashTypedData` (protocol.test.ts compares them) at a fraction of its cost: the type hash,
 * the domain separator and string hashes are computed once instead of on every signature, and
 * the struct is encoded straight into bytes. Every request and receipt is signed (client) and
 * recovered (host), so this runs several times per exchange.
 */
export function createTypedDataDigest<const Types extends FlatStructTypes>(
  types: Types,
): (domain: SessionDomainParameters, message: Record<string, unknown>) => Hex {
  const entries = Object.entries(types);
  if (entries.length !== 1) throw new TypeError("createTypedDataDigest takes one struct type without dependencies.");
  const [primaryType, fields] = entries[0]!;
  for (const field of fields)
    if (!encodable.has(field.type)) throw new TypeError(`createTypedDataDigest cannot encode ${field.type} (${primaryType}.${field.name}).`);
  const typeHash = keccak256Bytes(stringToBytes(`${primaryType}(${fields.map((field) => `${field.type} ${field.name}`).join(",")})`));
  return (domain, message) => {
    const struct = new Uint8Array(32 * (fields.length + 1));
    struct.set(typeHash);
    fields.forEach((field, index) => struct.set(encodeField(field.name, field.type, message[field.name]), 32 * (index + 1)));
    const digestInput = new Uint8Array(66);
    digestInput.set([0x19, 0x01]);
    digestInput.set(sessionDomainSeparator(`${domain.chainId}:${domain.marketplace}`, domain), 2);
    digestInput.set(keccak256Bytes(struct), 34);
    return keccak256Hex(digestInput);
  };
}
