/**
 * A PostgreSQL URL as it may be shown, and whether it parses as its writer meant. node-pg reads
 * the URL with the WHATWG parser (pg-connection-string); an unencoded `/`, `#` or `?` in a
 * password ends the authority early, so the password becomes a host, port or database name (or
 * "Invalid URL"). Everything before the URL's last `@` is taken as the user and password, which
 * is what the writer meant whenever an `@` is there (or, when that `@` is in a parameter or the
 * fragment, before the last one ahead of them); when the parser disagrees, nothing but the scheme
 * is shown.
 */
export type StoreUrl = {
  /** The URL with its password (`user:password@`, `?password=`) replaced by `***`; `postgres://***` when misparsed. */
  shown: string;
  /** The parser's user and password are not what stands before the last `@` (or the URL does not parse). */
  misparsed: boolean;
};

/** What to do about a misparsed URL. */
export const percentEncodeHint = "percent-encode special characters in the password (/ as %2F, # as %23, ? as %3F, @ as %40, : as %3A)";

export function describeStoreUrl(url: string): StoreUrl {
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(url)?.[0];
  if (scheme === undefined) return { shown: "***", misparsed: true };
  const rest = url.slice(scheme.length);
  const parsed = parseAsPg(url);
  if (!parsed) return { shown: `${scheme}***`, misparsed: true };
  // The @ that ends the user and password: the last one, as the writer means it whatever the password holds; or, when
  // that one is in a parameter or the fragment (an application name "ops@box"), the last one before them.
  const query = rest.search(/[?#]/);
  const candidates = new Set([rest.lastIndexOf("@")]);
  if (query >= 0) candidates.add(rest.lastIndexOf("@", query));
  for (const at of candidates) {
    const userinfo = at < 0 ? "" : rest.slice(0, at);
    const colon = userinfo.indexOf(":");
    const [user, password] = colon < 0 ? [userinfo, ""] : [userinfo.slice(0, colon), userinfo.slice(colon + 1)];
    if (decode(parsed.username) !== decode(user) || decode(parsed.password) !== decode(password)) continue;
    const authority = at < 0 ? "" : `${user}${colon < 0 ? "" : ":***"}@`;
    return { shown: `${scheme}${authority}${withoutPasswordParameter(rest.slice(at + 1))}`, misparsed: false };
  }
  return { shown: `${scheme}***`, misparsed: true };
}

/** Host, database and parameters with the value of any `password` parameter, its name as the driver decodes it, replaced (to the next `&`, a `#` included). */
function withoutPasswordParameter(tail: string): string {
  const query = tail.indexOf("?");
  if (query < 0) return tail;
  const parameters = tail
    .slice(query + 1)
    .split("&")
    .map((parameter) => {
      const name = parameter.split("=", 1)[0]!;
      return decode(name).toLowerCase() === "password" ? `${name}=***` : parameter;
    });
  return `${tail.slice(0, query + 1)}${parameters.join("&")}`;
}

/** A database URL as it may be shown: its password replaced. */
export function withoutPassword(url: string): string {
  return describeStoreUrl(url).shown;
}

/** The URL as pg-connection-string reads it (its own escaping and empty-host fallback), without its side effects (it reads certificate files). */
function parseAsPg(url: string): URL | undefined {
  const escaped = / |%[^a-f0-9]|%[a-f0-9][^a-f0-9]/i.test(url) ? encodeURI(url).replace(/%25(\d\d)/g, "%$1") : url;
  for (const candidate of [escaped, escaped.replace("@/", "@___DUMMY___/")])
    try {
      return new URL(candidate, "postgres://base");
    } catch {
      // pg tries once more with a placeholder host (postgres://user@/database).
    }
  return undefined;
}

function decode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
