import { parseEther, zeroAddress, type Address, type Hex } from "viem";
import { getBalance, getTransactionCount, writeContract } from "viem/actions";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { jobMarketplaceWithModelsAbi } from "../abis.ts";
import { writeAndWait } from "../chain/writeAndWait.ts";
import { ContractRevertError } from "../errors/contract.ts";
import { startTestChain, type TestChain } from "../testUtils/chain.ts";
import { listSessions } from "./listSessions.ts";
import { openSession } from "./openSession.ts";
import { triggerSessionTimeout } from "./triggerSessionTimeout.ts";
import { withdrawRefund } from "./withdrawRefund.ts";

/** Code that reverts on every call: the depositor then refuses the ETH refund pushed at settlement. */
const refusesEth: Hex = "0x60006000fd";

let t: TestChain;
beforeAll(async () => {
  t = await startTestChain();
});
afterAll(() => t?.stop());

const rpc = (method: string, params: unknown[]) => t.publicClient.request({ method, params } as never);
const increaseTime = async (seconds: number) => {
  await rpc("evm_increaseTime", [seconds]);
  await rpc("evm_mine", []);
};
const list = () => listSessions(t.publicClient, { marketplace: t.contracts.jobMarketplace, depositor: t.userWallet.account.address });
const openEth = (maxDuration: bigint) =>
  openSession(t.userWallet, { contracts: t.contracts, host: t.hostWallet.account.address, deposit: parseEther("0.001"), maxDuration });

describe("finding and recovering stranded sessions", () => {
  it("lists a depositor's sessions with what each needs, and ends an expired one by timeout", async () => {
    const { session } = await openEth(120n);
    const before = await list();
    const listed = before.sessions.find((entry) => entry.jobId === session.jobId)!;
    expect(listed).toMatchObject({ status: "active", expired: false, actions: ["resume", "close"], depositor: t.userWallet.account.address });
    expect(listed.expiresAt).toBe(listed.createdAt + 120n);
    expect(listed.openedAtBlock).toBe(session.openedAtBlock);

    const early = await triggerSessionTimeout(t.strangerWallet, { marketplace: t.contracts.jobMarketplace, jobId: session.jobId }).catch(
      (error: unknown) => error,
    );
    expect(early).toBeInstanceOf(ContractRevertError);
    expect((early as ContractRevertError).errorName).toBe("SessionNotExpired");

    await increaseTime(121);
    const expired = (await list()).sessions.find((entry) => entry.jobId === session.jobId)!;
    expect(expired).toMatchObject({ status: "active", expired: true, actions: ["close", "timeout"] });

    // Anyone may trigger it; the unused deposit goes back to the depositor.
    const settlement = await triggerSessionTimeout(t.strangerWallet, { marketplace: t.contracts.jobMarketplace, jobId: session.jobId });
    expect(settlement).toMatchObject({ jobId: session.jobId, completedBy: t.strangerWallet.account.address, provenTokens: 0n, refund: parseEther("0.001") });
    expect((await list()).sessions.find((entry) => entry.jobId === session.jobId)).toMatchObject({ status: "timedOut", actions: [] });
  });

  it("withdrawRefund with nothing pending fails with NothingToWithdraw and sends no transaction", async () => {
    const user = t.userWallet.account.address;
    const nonce = await getTransactionCount(t.publicClient, { address: user });
    const error = await withdrawRefund(t.userWallet, { marketplace: t.contracts.jobMarketplace, token: zeroAddress }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ContractRevertError);
    expect((error as ContractRevertError).errorName).toBe("NothingToWithdraw");
    expect(await getTransactionCount(t.publicClient, { address: user })).toBe(nonce);
  });

  it("a refund the depositor refused at settlement is listed and withdrawn", async () => {
    const user: Address = t.userWallet.account.address;
    const { session } = await openEth(3600n);
    await rpc("anvil_setCode", [user, refusesEth]);
    try {
      await writeAndWait(t.publicClient, "completeSessionJob", () =>
        writeContract(t.hostWallet, {
          address: t.contracts.jobMarketplace,
          abi: jobMarketplaceWithModelsAbi,
          functionName: "completeSessionJob",
          args: [session.jobId],
        }),
      );
    } finally {
      await rpc("anvil_setCode", [user, "0x"]);
    }
    const { sessions, pendingRefunds } = await list();
    expect(pendingRefunds).toEqual([{ token: zeroAddress, amount: parseEther("0.001") }]);
    expect(sessions.find((entry) => entry.jobId === session.jobId)).toMatchObject({ status: "completed", actions: ["withdrawRefund"] });
    expect(sessions[0]!.jobId).toBe(session.jobId);

    // To another address (withdrawRefundTo): the recipient gets exactly the refund.
    const recipient = t.strangerWallet.account.address;
    const balanceBefore = await getBalance(t.publicClient, { address: recipient });
    const withdrawn = await withdrawRefund(t.userWallet, { marketplace: t.contracts.jobMarketplace, token: zeroAddress, to: recipient });
    expect(withdrawn).toMatchObject({ token: zeroAddress, amount: parseEther("0.001"), to: recipient });
    expect(await getBalance(t.publicClient, { address: recipient })).toBe(balanceBefore + parseEther("0.001"));
    const after = await list();
    expect(after.pendingRefunds).toEqual([]);
    expect(after.sessions.find((entry) => entry.jobId === session.jobId)!.actions).toEqual([]);
  });
});
