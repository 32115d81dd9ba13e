import { zeroAddress } from "viem";
import { generatePrivateKey } from "viem/accounts";
import { writeContract } from "viem/actions";
import { emptyTranscriptHash } from "@session-jobs/protocol";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { nodeRegistryWithModelsAbi } from "../abis.ts";
import { writeAndWait } from "../chain/writeAndWait.ts";
import { HostNotRegisteredError } from "../errors/contract.ts";
import { HostUnreachableError } from "../errors/host.ts";
import type { Session } from "../session/types.ts";
import { startTestChain, type TestChain } from "../testUtils/chain.ts";
import { followHostUrl } from "./followHostUrl.ts";

let t: TestChain;
beforeAll(async () => {
  t = await startTestChain();
});
afterAll(() => t?.stop());

/** A session with `host`, as saved when its URL was `hostUrl` (nothing else of it is read). */
function sessionAt(hostUrl: string, host = t.hostWallet.account.address): Session {
  return {
    chainId: t.anvil.chainId,
    marketplace: t.contracts.jobMarketplace,
    jobId: 1n,
    openedAtBlock: 0n,
    host,
    hostUrl,
    sessionKey: generatePrivateKey(),
    token: zeroAddress,
    deposit: 1n,
    pricePerToken: 1n,
    proofInterval: 1000n,
    modelId: t.modelId,
    sequence: 0n,
    transcriptHash: emptyTranscriptHash,
    cumulativeTokens: 0n,
  };
}

const updateApiUrl = (wallet: TestChain["hostWallet"], apiUrl: string) =>
  writeAndWait(t.publicClient, "updateApiUrl", () =>
    writeContract(wallet, { address: t.contracts.nodeRegistry, abi: nodeRegistryWithModelsAbi, functionName: "updateApiUrl", args: [apiUrl] }),
  );

describe("followHostUrl", () => {
  it("points the session at the URL its host registered since, and leaves one that matches (bar a slash) alone", async () => {
    const nodeRegistry = t.contracts.nodeRegistry;
    const same = sessionAt(`${t.host.url}/`);
    expect(await followHostUrl(t.publicClient, { session: same, nodeRegistry })).toEqual({
      followed: false,
      previousUrl: `${t.host.url}/`,
      registeredUrl: t.host.url,
    });
    expect(same.hostUrl).toBe(`${t.host.url}/`);

    const moved = sessionAt("http://127.0.0.1:1");
    expect(await followHostUrl(t.publicClient, { session: moved, nodeRegistry })).toEqual({
      followed: true,
      previousUrl: "http://127.0.0.1:1",
      registeredUrl: t.host.url,
    });
    expect(moved.hostUrl).toBe(t.host.url);
  });

  it("reads only the session's own host: another address's registration is never followed", async () => {
    await t.registerStranger("http://stranger.example");
    const session = sessionAt("http://127.0.0.1:1");
    await followHostUrl(t.publicClient, { session, nodeRegistry: t.contracts.nodeRegistry });
    expect(session.hostUrl).toBe(t.host.url);

    const unregistered = sessionAt("http://127.0.0.1:1", t.userWallet.account.address);
    await expect(followHostUrl(t.publicClient, { session: unregistered, nodeRegistry: t.contracts.nodeRegistry })).rejects.toBeInstanceOf(
      HostNotRegisteredError,
    );
    expect(unregistered.hostUrl).toBe("http://127.0.0.1:1");
  });

  it("does not follow a registered URL that is not http(s)", async () => {
    for (const apiUrl of ["javascript:alert(1)", "not a url", "file:///etc/passwd"]) {
      await updateApiUrl(t.strangerWallet, apiUrl);
      const session = sessionAt("http://127.0.0.1:1", t.strangerWallet.account.address);
      expect(await followHostUrl(t.publicClient, { session, nodeRegistry: t.contracts.nodeRegistry })).toMatchObject({
        followed: false,
        registeredUrl: apiUrl,
      });
      expect(session.hostUrl).toBe("http://127.0.0.1:1");
    }
  });
});

describe("HostUnreachableError.neverConnected", () => {
  it("is true only where no connection was made (refused, name not resolved, no route), not for one that broke or went silent", () => {
    const failure = (code: string) => new HostUnreachableError({ url: "http://h", cause: Object.assign(new Error(code), { code }) });
    for (const code of ["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH", "ENETUNREACH"]) expect(failure(code).neverConnected, code).toBe(true);
    for (const code of ["ECONNRESET", "ETIMEDOUT", "EPIPE", "ERR_SSL_WRONG_VERSION_NUMBER"]) expect(failure(code).neverConnected, code).toBe(false);
    expect(new HostUnreachableError({ url: "http://h", cause: new Error("no code") }).neverConnected).toBe(false);
  });
});
