/** Control characters (C0, DEL, C1) and the invisible or direction-changing marks that can disguise a URL. */
// eslint-disable-next-line no-control-regex -- control characters are what this matches
const hiddenCharacters = /[\u0000-\u0020\u007f-\u009f\u00ad\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]/;

/**
 * Whether the page lists a host registered with `apiUrl`: an http(s) URL, with no control, space,
 * invisible or bidi character (anyone can register any string, and the page asks each listed host
 * for its health).
 */
export function listableHostUrl(apiUrl: string): boolean {
  if (hiddenCharacters.test(apiUrl)) return false;
  try {
    const { protocol } = new URL(apiUrl);
    return protocol === "http:" || protocol === "https:";
  } catch {
    return false;
  }
}

/** The host part of a listed host's URL, internationalised names in punycode (`xn--…`), so a look-alike shows as one. */
export function shownHost(apiUrl: string): string {
  return new URL(apiUrl).host;
}
