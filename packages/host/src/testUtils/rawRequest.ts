import { request as httpRequest } from "node:http";

/** TEST HELPER: an answer read whole, as text. */
export type RawAnswer = { status: number; headers: Record<string, string | string[] | undefined>; body: string };

/**
 * TEST HELPER: one HTTP request to `base` whose `path` reaches the server exactly as written
 * (no URL normalising, so `..` and odd escapes arrive as a hostile client would send them).
 */
export function rawRequest(base: string, options: { path: string; method?: string; headers?: Record<string, string> }): Promise<RawAnswer> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const request = httpRequest(
      { host: url.hostname, port: url.port, path: options.path, method: options.method ?? "GET", headers: options.headers ?? {} },
      (response) => {
        let body = "";
        response.setEncoding("utf8");
        response.on("data", (chunk: string) => (body += chunk));
        response.on("end", () => resolve({ status: response.statusCode!, headers: response.headers, body }));
      },
    );
    request.on("error", reject);
    request.end();
  });
}
