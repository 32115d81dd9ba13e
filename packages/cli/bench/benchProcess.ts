import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";

/** A bench server running in an OS process of its own. */
export type BenchProcess<T> = { announced: T; child: ChildProcess; stop: () => Promise<void> };

/**
 * Starts the TypeScript file `file` as a child process (tsx, source conditions) with `args`, and
 * resolves with the JSON line it prints on stdout once it listens (`nodeArgs` go to node itself, e.g. `--cpu-prof`); `stop` sends SIGTERM and waits
 * for the exit. A bench server runs apart from the bench so that its CPU is its own.
 */
export async function spawnBenchProcess<T>(file: string, args: readonly string[], nodeArgs: readonly string[] = []): Promise<BenchProcess<T>> {
  const child = spawn(process.execPath, [...nodeArgs, "--conditions=@session-jobs/source", "--import", "tsx", file, ...args], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const [line] = await Promise.race([
    createInterface({ input: child.stdout })
      [Symbol.asyncIterator]()
      .next()
      .then((next) => [next.value as string | undefined]),
    exited.then(() => [undefined]),
  ]);
  if (!line) throw new Error(`${file} exited before it listened`);
  return {
    announced: JSON.parse(line) as T,
    child,
    stop: async () => {
      child.kill("SIGTERM");
      await exited;
    },
  };
}

/** In a bench server's own process: prints `announced` as the one JSON line the parent waits for, and runs `close` then exits on SIGINT/SIGTERM. */
export function announceAndServe(announced: unknown, close: () => Promise<void>): void {
  console.log(JSON.stringify(announced));
  const stop = () => void close().then(() => process.exit(0));
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}
