import { InvalidHostUrlError } from "../errors/host.ts";

/**
 * Whether `text` is an absolute http: or https: URL without a user name or password: the only kind
 * the SDK sends to (fetch refuses credentials in a URL, so they would pass for a host that is down).
 */
export function isHttpUrl(text: string): boolean {
  if (!URL.canParse(text)) return false;
  const url = new URL(text);
  return /^https?:$/.test(url.protocol) && url.username === "" && url.password === "";
}

/** Why `hostUrl` cannot be a host's base URL, which the SDK's paths are appended to; undefined when it can. */
export function hostUrlProblem(hostUrl: string): string | undefined {
  if (!isHttpUrl(hostUrl)) return "is not an http(s) URL without a user name or password";
  if (hostUrl.trim() !== hostUrl) return "has spaces around it";
  if (hostUrl.includes("?") || hostUrl.includes("#")) return "has a query or a fragment, which the paths sent to it would come after";
  return undefined;
}

/** Throws {@link InvalidHostUrlError} for a URL that cannot be a host's base URL ({@link hostUrlProblem}), before anything is sent. */
export function assertHostUrl(hostUrl: string): void {
  const problem = hostUrlProblem(hostUrl);
  if (problem !== undefined) throw new InvalidHostUrlError({ url: hostUrl, problem });
}
