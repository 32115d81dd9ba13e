/**
 * The web app's Content-Security-Policy, wherever it is served: its own scripts and styles only,
 * no frames, no plugins, requests only to itself and `connectSources`.
 */
export function appContentSecurityPolicy(connectSources: string): string {
  return [
    "default-src 'self'",
    "script-src 'self'",
    // React sets style attributes; no style sheet comes from elsewhere.
    "style-src 'self' 'unsafe-inline'",
    // Wallets announce their icons as data: URIs (EIP-6963).
    "img-src 'self' data:",
    `connect-src 'self' ${connectSources}`,
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join("; ");
}

/** Directives a browser ignores in a `<meta http-equiv="Content-Security-Policy">`: only a header carries them. */
const headerOnlyDirectives = ["frame-ancestors", "report-uri", "sandbox"];

/**
 * {@link appContentSecurityPolicy} as a `<meta>` can carry it, for the built app on a static host
 * that sends no header: without `frame-ancestors`, so such a host cannot forbid framing.
 */
export function appMetaContentSecurityPolicy(connectSources: string): string {
  return appContentSecurityPolicy(connectSources)
    .split("; ")
    .filter((directive) => !headerOnlyDirectives.includes(directive.split(" ")[0]!))
    .join("; ");
}

/**
 * The web app's security headers, wherever it is served (the node's dashboard, the CLI's demo):
 * {@link appContentSecurityPolicy}; no MIME sniffing, no framing, no referrer.
 */
export function appSecurityHeaders(connectSources: string): Record<string, string> {
  return {
    "content-security-policy": appContentSecurityPolicy(connectSources),
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
  };
}
