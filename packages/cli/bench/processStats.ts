import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";

const ticksPerSecond = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;

/** CPU time another process has used so far, in milliseconds, from /proc (Linux): in user space, in the kernel (system calls), and both. */
export function processCpuTimes(pid: number): { userMs: number; systemMs: number; totalMs: number } {
  // The command name (field 2) may hold spaces; the fields after its closing parenthesis do not.
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  const [userMs, systemMs] = [(Number(fields[11]) * 1000) / ticksPerSecond, (Number(fields[12]) * 1000) / ticksPerSecond];
  return { userMs, systemMs, totalMs: userMs + systemMs };
}

/** CPU time (user + system) another process has used so far, in milliseconds. */
export const processCpuMs = (pid: number): number => processCpuTimes(pid).totalMs;

/** Resident memory of another process now, in bytes, from /proc (Linux). */
export function processRssBytes(pid: number): number {
  const line = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return line ? Number(line[1]) * 1024 : Number.NaN;
}
