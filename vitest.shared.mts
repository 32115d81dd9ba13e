import { defaultClientConditions, defaultServerConditions } from "vite";

/** The export condition under which every workspace package points at its TypeScript sources. */
export const sourceCondition = "@session-jobs/source";

/**
 * Vite/Vitest resolve options that pick that condition, so tests (and the app's build) run the
 * workspace packages from source with no build step; published installs never see it.
 */
export const resolveSources = {
  resolve: { conditions: [sourceCondition, ...defaultClientConditions] },
  ssr: { resolve: { conditions: [sourceCondition, ...defaultServerConditions] } },
};
