import { describe, expect, it } from "vitest";
import { readinessChecks } from "./readiness.ts";

describe("the node's readiness checks as the dashboard shows them", () => {
  it("keeps named string results", () => {
    expect(readinessChecks({ node: "ok", rpc: "the RPC does not answer" })).toEqual({ node: "ok", rpc: "the RPC does not answer" });
  });

  it("takes nothing else from a node it does not trust: other shapes, too many, too long", () => {
    for (const raw of [undefined, null, "ok", 3, ["ok"]]) expect(readinessChecks(raw)).toEqual({});
    expect(readinessChecks({ a: 1, b: { c: "ok" }, d: null, e: "ok" })).toEqual({ e: "ok" });
    expect(Object.keys(readinessChecks(Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`check${i}`, "ok"]))))).toHaveLength(16);
    const [[name, result]] = Object.entries(readinessChecks({ ["n".repeat(1000)]: "x".repeat(10_000) })) as [[string, string]];
    expect([name.length, result.length]).toEqual([40, 200]);
  });
});
