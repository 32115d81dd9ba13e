import { describe, expect, it } from "vitest";
import { listableHostUrl, shownHost } from "./hostUrl.ts";

describe("a registered host's URL as the page lists and shows it", () => {
  it("shows the host part in punycode, so a look-alike reads as xn--", () => {
    expect(shownHost("http://аpi.trusted-host.example/")).toBe("xn--pi-6kc.trusted-host.example");
    expect(shownHost("https://gw.example:8443/hostA/")).toBe("gw.example:8443");
  });

  it("lists http(s) URLs only, and none with a control or bidi character", () => {
    expect(listableHostUrl("https://gw.example/hostA/")).toBe(true);
    expect(listableHostUrl("http://127.0.0.1:8080")).toBe(true);
    for (const url of [
      "javascript:alert(1)",
      "data:text/html,hi",
      "file:///etc/passwd",
      "ftp://h.example/",
      "not a url",
      "",
      "https://gw.example/\u202eevil",
      "https://gw.ex\u200bample/",
      "https://gw.example/\u2066x",
      " https://gw.example/",
      "https://gw.example/\n",
      "https://gw.example/\u0000",
      "https://gw.example/\u0085",
    ])
      expect(listableHostUrl(url), JSON.stringify(url)).toBe(false);
  });
});
