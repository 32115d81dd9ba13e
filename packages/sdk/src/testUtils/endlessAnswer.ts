/** TEST HELPER: a `fetch` whose answers to URLs ending in `path` are endless 200 bodies; `sent` counts the bytes handed out. */
export function endlessAnswerAt(path: string): { fetch: typeof fetch; sent: () => number } {
  let sent = 0;
  const endless = new ReadableStream<Uint8Array>({
    pull(controller) {
      sent += 1 << 20;
      controller.enqueue(new Uint8Array(1 << 20).fill(0x20));
    },
  });
  const hostile: typeof fetch = (input, init) => (String(input).endsWith(path) ? Promise.resolve(new Response(endless, { status: 200 })) : fetch(input, init));
  return { fetch: hostile, sent: () => sent };
}
