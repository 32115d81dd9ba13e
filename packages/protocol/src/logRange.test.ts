import { HttpRequestError, InternalRpcError, InvalidParamsRpcError, LimitExceededRpcError, RpcRequestError, TimeoutError, UnknownRpcError } from "viem";
import { describe, expect, it } from "vitest";
import { createLogRange, isRangeRefusal } from "./logRange.ts";

/** A JSON-RPC error as viem's transports raise it: the node's own error inside viem's class for its code. */
const rpcError = (code: number, message: string) => {
  const cause = new RpcRequestError({ body: { method: "eth_getLogs" }, error: { code, message }, url: "http://rpc.example" });
  if (code === -32005) return new LimitExceededRpcError(cause);
  if (code === -32602) return new InvalidParamsRpcError(cause);
  if (code === -32603) return new InternalRpcError(cause);
  return new UnknownRpcError(cause);
};
const httpError = (status: number, details: string) =>
  new HttpRequestError({ body: { method: "eth_getLogs" }, details, status, url: "http://rpc.example/range/limit/exceeded" });

describe("isRangeRefusal", () => {
  it("recognises the ways providers refuse a range for its size", () => {
    const refusals = [
      rpcError(-32005, "query returned more than 10000 results. Try with this block range [0x1, 0x2710]."),
      rpcError(
        -32602,
        "Log response size exceeded. You can make eth_getLogs requests with up to a 2K block range and no limit on the response size, or you can request any block range with a cap of 10K logs in the response.",
      ),
      rpcError(-32600, "eth_getLogs is limited to a 10,000 range"),
      rpcError(-32000, "block range is too wide"),
      rpcError(-32000, "exceed maximum block range: 50000"),
      rpcError(-32603, "query timeout exceeded"),
      rpcError(-32000, "requested too many blocks from 0 to 20000, maximum is set to 10000"),
      httpError(413, "Payload Too Large"),
      new Error("Log response size exceeded"),
    ];
    for (const error of refusals) expect(isRangeRefusal(error), error.message).toBe(true);
  });

  it("does not take a network failure, a timeout, a rate limit or a node behind for one, even where viem's own words or the URL would match", () => {
    const others = [
      rpcError(-32005, "daily request count exceeded, request rate limited"),
      rpcError(429, "Your app has exceeded its compute units per second capacity."),
      rpcError(-32007, "10/second request limit reached - reduce calls per second or upgrade your account at quicknode.com"),
      rpcError(-32603, "internal error"),
      rpcError(-32000, "block range extends beyond current head block"),
      httpError(429, "Too Many Requests"),
      httpError(502, "Bad Gateway"),
      new TimeoutError({ body: { method: "eth_getLogs" }, url: "http://rpc.example" }),
      Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:8545"), { code: "ECONNREFUSED" }),
      "not an error",
    ];
    for (const error of others) expect(isRangeRefusal(error), String(error)).toBe(false);
  });
});

describe("createLogRange", () => {
  it("halves below a refused span down to one block, and doubles back after enough full-size reads", () => {
    const range = createLogRange({ maxBlocks: 1_000n, growAfter: 2 });
    expect(range.end(1n, 5_000n)).toBe(1_000n);
    expect(range.end(1n, 10n)).toBe(10n);
    expect(range.refused(10n)).toBe(true); // a span shorter than the size, clipped by the head
    expect(range.end(1n, 5_000n)).toBe(5n);
    expect(range.refused(5n)).toBe(true);
    expect(range.refused(2n)).toBe(true);
    expect(range.refused(1n)).toBe(false);
    expect(range.end(7n, 5_000n)).toBe(7n);

    range.read(1n);
    expect(range.end(1n, 5_000n)).toBe(1n);
    range.read(1n);
    expect(range.end(1n, 5_000n)).toBe(2n);
    for (let reads = 0; reads < 40; reads++) range.read(range.end(1n, 5_000n));
    expect(range.end(1n, 5_000n)).toBe(1_000n); // never past the maximum
  });
});
