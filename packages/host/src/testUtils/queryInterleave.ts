/**
 * TEST HELPER: another process's write landing between two reads of this one, on PostgreSQL. The
 * next query of this test process (any `pg` connection) whose text matches `after` hands back its
 * rows only once `write` is done, so a later read sees the write unless it reads from the same
 * snapshot. One-shot; `fired` says whether that query came, so that a test cannot pass vacuously.
 */
import pg from "pg";

type Hook = { after: RegExp; write: () => unknown; fired: boolean };

const hooks: Hook[] = [];
const query = pg.Client.prototype.query as (this: pg.Client, ...args: unknown[]) => unknown;

pg.Client.prototype.query = function (this: pg.Client, config: unknown, values?: unknown, callback?: unknown) {
  const text = typeof config === "string" ? config : (config as { text?: unknown } | null)?.text;
  const hook = typeof text === "string" ? hooks.find((armed) => armed.after.test(text)) : undefined;
  if (!hook) return query.call(this, config, values, callback);
  hooks.splice(hooks.indexOf(hook), 1);
  hook.fired = true;
  const done = [values, callback].find((argument) => typeof argument === "function") as ((error?: unknown, result?: unknown) => void) | undefined;
  const rows = (query.call(this, config, typeof values === "function" ? undefined : values) as Promise<pg.QueryResult>).then(async (result) => {
    await hook.write();
    return result;
  });
  if (!done) return rows;
  rows.then(
    (result) => done(undefined, result),
    (error: unknown) => done(error),
  );
  return undefined;
} as typeof pg.Client.prototype.query;

/** Runs `write` (another process's, committed when it resolves) right after the next query matching `after` returns, before its caller sees the rows. */
export function interleaveAfter(after: RegExp, write: () => unknown): { fired: () => boolean } {
  const hook: Hook = { after, write, fired: false };
  hooks.push(hook);
  return { fired: () => hook.fired };
}
