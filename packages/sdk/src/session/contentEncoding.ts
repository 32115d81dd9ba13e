import { HostContentEncodingError } from "../errors/host.ts";

/** The codings both transports decode: node:zlib's, and what `fetch` decodes itself. */
export const decodedCodings = ["gzip", "x-gzip", "deflate", "br"] as const;
export type DecodedCoding = (typeof decodedCodings)[number];

/**
 * The one coding an answer's `content-encoding` applies (`undefined` for none: no header, or only
 * `identity` and empty tokens), or the {@link HostContentEncodingError} for anything else: a
 * coding the SDK does not decode; a chain of them (each layer multiplies what a few bytes can
 * expand to; no proxy sends one); a coding beside `identity` or an empty token. `identity` means
 * no coding, but the standard names it for `accept-encoding` only (RFC 9110, 12.5.3), and `fetch`
 * implementations stop at it as at any token they do not know: undici and Chromium hand on the
 * raw bytes of `gzip, identity`. node:http could decode them where `fetch` reads them raw: refused on both.
 */
export function contentCoding(header: string | null | undefined): DecodedCoding | undefined | HostContentEncodingError {
  const codings = (header ?? "").split(",").map((coding) => coding.trim().toLowerCase());
  if (codings.every((coding) => coding === "" || coding === "identity")) return undefined;
  const [coding] = codings as [string];
  if (codings.length > 1 || !(decodedCodings as readonly string[]).includes(coding)) return new HostContentEncodingError({ contentEncoding: header! });
  return coding as DecodedCoding;
}
