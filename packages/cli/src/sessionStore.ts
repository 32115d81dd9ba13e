import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { deserializeSession, serializeSession, type Session } from "@session-jobs/sdk";
import type { Command, OptionValues } from "./command.ts";
import type { Common } from "./common.ts";
import { CliError, UsageError } from "./errors.ts";
import { parseIntegerOption } from "./parse.ts";

/**
 * Sessions are kept one file each, `<chainId>-<jobId>.json`, readable by the owner only: the file
 * holds the session key, which can sign receipts up to the deposit.
 */
export const sessionsDirOption = {
  "sessions-dir": {
    type: "string",
    description: "where sessions (with their keys) are kept (default ~/.session-jobs/sessions)",
    env: "SESSION_JOBS_SESSIONS_DIR",
  },
} as const satisfies Command["options"];

/** `--job` and `--sessions-dir`, for commands that act on a saved session. */
export const savedSessionOptions = {
  job: { type: "string", description: "the session's job id (printed by `client open`)" },
  ...sessionsDirOption,
} as const satisfies Command["options"];

export function sessionsDir(values: OptionValues): string {
  return typeof values["sessions-dir"] === "string" ? values["sessions-dir"] : join(homedir(), ".session-jobs", "sessions");
}

export function sessionPath(values: OptionValues, chainId: number, jobId: bigint): string {
  return join(sessionsDir(values), `${chainId}-${jobId}.json`);
}

/** Writes the session atomically (temporary file, then rename), mode 0600 in a 0700 folder. */
export function saveSession(values: OptionValues, session: Session): string {
  const dir = sessionsDir(values);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const path = sessionPath(values, session.chainId, session.jobId);
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, `${serializeSession(session)}\n`, { mode: 0o600 });
  chmodSync(temporary, 0o600);
  renameSync(temporary, path);
  return path;
}

/**
 * A new session's job id can only meet a saved one when the chain was reset (a development chain
 * restarted): the saved file holds a session key, so it is renamed aside, never overwritten.
 */
export function keepEarlierSave(common: Common, values: OptionValues, chainId: number, jobId: bigint): void {
  const path = sessionPath(values, chainId, jobId);
  if (!existsSync(path)) return;
  const kept = `${path}.earlier-${Date.now()}`;
  renameSync(path, kept);
  common.logger.warn(`a session ${jobId} on chain ${chainId} was already saved here (was the chain reset?); kept it as ${kept}`);
}

/** Reads the session `--job` names on `chainId`; a missing one is a one-line error. */
export function loadSession(command: Command, values: OptionValues, chainId: number): { session: Session; path: string } {
  if (typeof values.job !== "string") throw new UsageError("missing --job", `see: session-jobs ${command.path.join(" ")} --help`);
  const jobId = parseIntegerOption("job", values.job);
  const path = sessionPath(values, chainId, jobId);
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new CliError(
      `no saved session ${jobId} on chain ${chainId} (${(error as NodeJS.ErrnoException).code ?? "unreadable"}: ${path})`,
      "sessions opened with `session-jobs client open` are saved under --sessions-dir",
    );
  }
  try {
    return { session: deserializeSession(text), path };
  } catch {
    throw new CliError(`session file ${path} is corrupt`);
  }
}
