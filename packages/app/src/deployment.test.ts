import { describe, expect, it } from "vitest";
import { isLocalDevChain, parseDeployment } from "./deployment.ts";

const address = (n: number) => `0x${n.toString(16).padStart(40, "0")}`;

describe("deployment.json", () => {
  const valid = {
    chainId: 31337,
    rpcUrl: "http://127.0.0.1:8545",
    jobMarketplace: address(1),
    nodeRegistry: address(2),
    modelRegistry: address(3),
    hostEarnings: address(4),
    deployedAtBlock: "1",
  };

  it("parses the deploy script's output plus an RPC", () => {
    expect(parseDeployment(valid)).toMatchObject({ chainId: 31337, chainName: "Local chain (anvil)", deployedAtBlock: 1n });
  });

  it("takes the host a node serves its dashboard for, and refuses a bad one", () => {
    expect(parseDeployment({ ...valid, host: address(5).toUpperCase().replace("0X", "0x") }).host).toBe("0x0000000000000000000000000000000000000005");
    expect(parseDeployment(valid).host).toBeUndefined();
    expect(() => parseDeployment({ ...valid, host: "0x12" })).toThrow(/host must be an address/);
  });

  it("names every bad field", () => {
    expect(() => parseDeployment({ ...valid, chainId: "1", jobMarketplace: "nope", rpcUrl: "ftp://x" })).toThrow(/chainId.*rpcUrl.*jobMarketplace/);
    expect(() => parseDeployment(null)).toThrow(/not a JSON object/);
  });

  it("offers the dev wallet only on anvil's chain id with an RPC on this machine", () => {
    expect(isLocalDevChain({ chainId: 31337, rpcUrl: "http://127.0.0.1:8545" })).toBe(true);
    expect(isLocalDevChain({ chainId: 31337, rpcUrl: "https://rpc.example" })).toBe(false);
    expect(isLocalDevChain({ chainId: 1, rpcUrl: "http://localhost:8545" })).toBe(false);
  });
});
