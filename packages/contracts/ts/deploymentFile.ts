import { accessSync, constants, lstatSync, mkdirSync, renameSync, rmSync, writeFileSync, type Stats } from "node:fs";
import { basename, dirname, join } from "node:path";
import { deploymentContracts, type SessionJobsDeployment } from "./deploy.ts";

/** A deployment file that cannot (or must not) be written; the message names the path and the fix. */
export class DeploymentFileError extends Error {
  override name = "DeploymentFileError";
}

function statOrUndefined(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    // ENOTDIR: a folder on the way is a file; the folder check below says so.
    if (code === "ENOENT" || code === "ENOTDIR") return undefined;
    throw new DeploymentFileError(`cannot inspect ${path} (${code})`);
  }
}

/**
 * Checks, before anything is sent, that the deployment can be written to `path`: not a directory,
 * device or pipe, not an existing file unless `force`, and its folder creatable and writable (proved
 * by writing and removing a probe file, which also catches read-only file systems). Only plain
 * files are ever opened, so a pipe or a device can never block or spin the process.
 */
export function checkDeploymentOutput(path: string, options: { force?: boolean | undefined } = {}): void {
  if (path.trim() === "") throw new DeploymentFileError("the deployment file path is empty");
  const existing = statOrUndefined(path);
  if (existing && !existing.isFile()) throw new DeploymentFileError(`${path} is not a regular file (a directory, link, device or pipe): choose a file path`);
  if (existing && !options.force) throw new DeploymentFileError(`${path} already exists: give --force to overwrite it, or another --out`);
  const folder = dirname(path);
  const folderStat = statOrUndefined(folder);
  if (folderStat && !folderStat.isDirectory()) throw new DeploymentFileError(`${folder} is not a folder`);
  if (!folderStat) {
    try {
      mkdirSync(folder, { recursive: true });
    } catch (error) {
      throw new DeploymentFileError(`cannot create the folder ${folder} (${(error as NodeJS.ErrnoException).code})`);
    }
  }
  const probe = join(folder, `.${basename(path)}.${process.pid}.probe`);
  try {
    writeFileSync(probe, "", { flag: "wx" });
    rmSync(probe);
    if (existing) accessSync(path, constants.W_OK);
  } catch (error) {
    rmSync(probe, { force: true });
    throw new DeploymentFileError(`cannot write to ${existing ? path : folder} (${(error as NodeJS.ErrnoException).code})`);
  }
}

/** Writes the deployment atomically: a temporary file in the same folder, then a rename over `path`. */
export function writeDeploymentFile(path: string, deployment: SessionJobsDeployment): void {
  const temporary = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  try {
    writeFileSync(temporary, `${JSON.stringify(deployment, null, 2)}\n`, { flag: "w" });
    renameSync(temporary, path);
  } catch (error) {
    rmSync(temporary, { force: true });
    throw new DeploymentFileError(
      `cannot write ${path} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); the addresses printed above are the deployment`,
    );
  }
}

/** One line per contract, labelled, in deployment order (contracts only, never transaction hashes). */
export function describeDeploymentAddresses(deployment: Partial<Pick<SessionJobsDeployment, (typeof deploymentContracts)[number][0]>>): string[] {
  const width = Math.max(...deploymentContracts.map(([, label]) => label.length));
  return deploymentContracts.filter(([field]) => deployment[field] !== undefined).map(([field, label]) => `${label.padEnd(width)}  ${deployment[field]}`);
}
