import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, expect, it } from "vitest";
import { useHostStack } from "./stack.ts";
import { startTcpProxy, type TcpProxy } from "./tcpProxy.ts";

// `/ready` says whether the node can serve and get paid: it fails while the upstream model
// server or the RPC is unreachable, names the failing check, and recovers when they come back.

let rpc: TcpProxy;
let upstream: TcpProxy;
let upstreamServer: Server;
const stack = useHostStack(
  async (network) => {
    rpc = await startTcpProxy(new URL(network.anvil.rpcUrl));
    // A stand-in for an OpenAI-compatible server: /ready only asks it for GET /v1/models.
    upstreamServer = createServer((request, response) => {
      response.writeHead(request.url === "/v1/models" ? 200 : 404, { "content-type": "application/json" });
      response.end(JSON.stringify({ object: "list", data: [] }));
    });
    await new Promise<void>((resolve) => upstreamServer.listen(0, "127.0.0.1", resolve));
    upstream = await startTcpProxy(new URL(`http://127.0.0.1:${(upstreamServer.address() as AddressInfo).port}`));
    return { extra: { rpcUrl: rpc.url, backend: { type: "upstream", url: `${upstream.url}/v1`, model: "stand-in" } } };
  },
  {
    beforeStop: () => rpc?.setDown(false),
    afterStop: async () => {
      await rpc?.close();
      await upstream?.close();
      upstreamServer?.closeAllConnections();
      await new Promise((resolve) => upstreamServer?.close(resolve));
    },
  },
);

type ReadyAnswer = { status: number; checks: Record<string, string>; code?: string; message?: string };
async function ready(): Promise<ReadyAnswer> {
  const response = await fetch(`${stack.host.url}/ready`);
  const json = (await response.json()) as { checks: Record<string, string>; error?: { code: string; message: string } };
  return { status: response.status, checks: json.checks, code: json.error?.code, message: json.error?.message };
}
/** Polls /ready (bounded) until it answers `status`; probes are shared for a second, so a change shows within about one. */
const readyBecomes = (status: number) => expect.poll(async () => (await ready()).status, { timeout: 15_000, interval: 100 }).toBe(status);

describe("/ready reflects what the node needs", () => {
  it("is 200 with every named check ok while the RPC and the upstream answer", async () => {
    expect(await ready()).toMatchObject({ status: 200, checks: { node: "ok", rpc: "ok", backend: "ok" } });
  });

  it.each([
    { check: "backend", down: () => upstream, others: { node: "ok", rpc: "ok" } },
    { check: "rpc", down: () => rpc, others: { node: "ok", backend: "ok" } },
  ])(
    "is 503 not_ready naming $check while it is unreachable, and 200 again when it is back",
    async ({ check, down, others }) => {
      down().setDown(true);
      await readyBecomes(503);
      const answer = await ready();
      expect(answer).toMatchObject({ code: "not_ready", checks: others });
      expect(answer.checks[check]).not.toBe("ok");
      expect(answer.message).toMatch(new RegExp(`^${check}: `));
      // /health stays a liveness probe: the process is up even though it cannot serve.
      expect((await fetch(`${stack.host.url}/health`)).status).toBe(200);
      down().setDown(false);
      await readyBecomes(200);
    },
    30_000,
  );
});
