import type { Plugin } from "vite";
// Relative, not `@session-jobs/host`: Vite loads its config without the source condition, and this
// module imports nothing, so it is bundled into the config as it is.
import { appMetaContentSecurityPolicy } from "../../host/src/http/appSecurity.ts";

/**
 * The app's Content-Security-Policy as a `<meta>` in the built `index.html`, first in its head,
 * so a static host that sends no header still serves the app under it. Requests may go to any
 * http(s) origin: the RPC comes from `deployment.json` and hosts from the chain. Build only: the
 * dev server injects an inline script that the policy forbids.
 */
export function contentSecurityPolicyMeta(): Plugin {
  return {
    name: "session-jobs:content-security-policy-meta",
    apply: "build",
    transformIndexHtml: () => [
      { tag: "meta", attrs: { "http-equiv": "Content-Security-Policy", content: appMetaContentSecurityPolicy("http: https:") }, injectTo: "head-prepend" },
    ],
  };
}
