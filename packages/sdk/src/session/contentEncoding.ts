import { HostContentEncodingError } from "../errors/host.ts";

/** The codings both transports decode: node:zlib's, and what `fetch` decodes itself. */
export const decodedCodings = ["gzip", "x-gzip", "deflate", "br"] as const;
export type DecodedCoding = (typeof decodedCodings)[number];

/**
 * The one coding an answer's `content-encoding` applies (`undefined` for none or `identity`), or
 * the {@link HostContentEncodingError} for a coding the SDK does not decode or for a chain of them
 * (each layer of a chain multiplies what a few bytes can expand to; no proxy sends one).
 */
export function contentCoding(header: string | null | undefined): DecodedCoding | undefined | HostContentEncodingError {
  const codings = (header ?? "")
    .split(",")
    .map((coding) => coding.trim().toLowerCase())
    .filter((coding) => coding !== "" && coding !== "identity");
  if (codings.length === 0) return undefined;
  const [coding] = codings as [string];
  if (codings.length > 1 || !(decodedCodings as readonly string[]).includes(coding)) return new HostContentEncodingError({ contentEncoding: header! });
  return coding as DecodedCoding;
}
