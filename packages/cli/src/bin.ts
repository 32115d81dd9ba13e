import { exitCodes, runCli } from "./cli.ts";

const code = await runCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env });
process.exitCode = code;
// Interrupted (SIGINT, SIGTERM): the command has saved what it must; a wait it could not cancel
// (a receipt being polled for) must not keep the process alive.
if (code === exitCodes.interrupted) process.exit(code);
// A command that finished on its own, `host start` after its drain timed out among them, has said
// what it did: a stray handle (an RPC poll still in flight) must not keep the process alive for minutes.
setTimeout(() => process.exit(), 2_000).unref();
