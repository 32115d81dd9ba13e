import { Writable } from "node:stream";

/** In-memory stdout/stderr for running the CLI inside a test. */
export function captureStreams() {
  const capture = () => {
    const chunks: string[] = [];
    const stream = new Writable({
      write(chunk, _encoding, callback) {
        chunks.push(String(chunk));
        callback();
      },
    });
    return { stream, text: () => chunks.join("") };
  };
  const stdout = capture();
  const stderr = capture();
  return { stdout, stderr, streams: { stdout: stdout.stream, stderr: stderr.stream, env: { ...process.env, CI: "true" } } };
}
