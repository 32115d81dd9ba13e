import { InvalidHostUrlError } from "../errors/host.ts";

/** Whether `text` is an absolute http: or https: URL, the only kind of host URL the SDK sends to. */
export function isHttpUrl(text: string): boolean {
  return URL.canParse(text) && /^https?:$/.test(new URL(text).protocol);
}

/** Throws {@link InvalidHostUrlError} for a host URL that is not an http(s) URL, before anything is sent. */
export function assertHostUrl(hostUrl: string): void {
  if (!isHttpUrl(hostUrl)) throw new InvalidHostUrlError({ url: hostUrl });
}
