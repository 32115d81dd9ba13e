// Module hook for running from the repository: resolves the workspace packages to their TypeScript
// sources (the "@session-jobs/source" export condition) instead of their compiled dist/.
export async function resolve(specifier, context, nextResolve) {
  return nextResolve(specifier, { ...context, conditions: [...context.conditions, "@session-jobs/source"] });
}
