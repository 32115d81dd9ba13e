import type { Address, Client } from "viem";
import { getBlock, getContractEvents, readContract } from "viem/actions";
import { jobMarketplaceWithModelsAbi } from "../abis.ts";
import { decodeContractError, type ContractCallError } from "../errors/contract.ts";
import { getSession, type OnChainSession } from "./getSession.ts";

export type ListSessionsParameters = {
  marketplace: Address;
  /** Whose sessions: they are found by the `depositor` of `SessionJobCreated`. */
  depositor: Address;
  /** First block to search (a deployment's `deployedAtBlock`). Default: the earliest block. */
  fromBlock?: bigint | undefined;
};

/**
 * What a depositor can do with a session now:
 * - `resume`: chat on (active, not expired);
 * - `close`: end it through the host (`closeSession`), any time while active;
 * - `timeout`: `triggerSessionTimeout`, once `maxDuration` has passed (works without the host);
 * - `withdrawRefund`: ended, and a refund of its asset waits in the marketplace (`withdrawRefund`).
 */
export type SessionAction = "resume" | "close" | "timeout" | "withdrawRefund";

export type ListedSession = OnChainSession & {
  /** The block of its `SessionJobCreated` event. */
  openedAtBlock: bigint;
  /** `createdAt + maxDuration`: from then on anyone may end it by timeout. */
  expiresAt: bigint;
  /** Whether `expiresAt` has passed at the latest block. */
  expired: boolean;
  actions: SessionAction[];
};

/** A refund the marketplace could not push at settlement, waiting for `withdrawRefund`. */
export type PendingRefund = { token: Address; amount: bigint };

export type ListSessionsReturnType = {
  /** Newest first. */
  sessions: ListedSession[];
  /** One entry per asset of the depositor's sessions with a refund pending. */
  pendingRefunds: PendingRefund[];
  /** The timestamp of the block the list was read at (seconds). */
  timestamp: bigint;
};

export type ListSessionsErrorType = ContractCallError;

/**
 * Lists a depositor's sessions from the marketplace's events, each read at the latest block with
 * what it needs: an active one can be resumed or closed, an expired one ended by timeout, an ended
 * one whose refund could not be pushed withdrawn. This is how stranded funds are found.
 *
 * @example
 * const { sessions, pendingRefunds } = await listSessions(client, { marketplace, depositor: account.address });
 * for (const session of sessions) console.log(session.jobId, session.status, session.actions);
 */
export async function listSessions(client: Client, parameters: ListSessionsParameters): Promise<ListSessionsReturnType> {
  const { marketplace, depositor } = parameters;
  let block;
  let created;
  try {
    block = await getBlock(client, { blockTag: "latest" });
    created = await getContractEvents(client, {
      address: marketplace,
      abi: jobMarketplaceWithModelsAbi,
      eventName: "SessionJobCreated",
      args: { depositor },
      fromBlock: parameters.fromBlock ?? "earliest",
      toBlock: block.number,
      strict: true,
    });
  } catch (error) {
    throw decodeContractError(error, { functionName: "getLogs SessionJobCreated" });
  }
  const onChain = await Promise.all(created.map((log) => getSession(client, { marketplace, jobId: log.args.jobId })));
  const tokens = [...new Set(onChain.map((session) => session.token))];
  let amounts;
  try {
    amounts = await Promise.all(
      tokens.map((token) =>
        readContract(client, {
          address: marketplace,
          abi: jobMarketplaceWithModelsAbi,
          functionName: "pendingRefunds",
          args: [depositor, token],
          blockNumber: block.number,
        }),
      ),
    );
  } catch (error) {
    throw decodeContractError(error, { functionName: "pendingRefunds" });
  }
  const pendingRefunds = tokens.map((token, index) => ({ token, amount: amounts[index]! })).filter((refund) => refund.amount > 0n);
  const sessions = onChain.map((session, index) =>
    listedSession(session, { openedAtBlock: created[index]!.blockNumber, timestamp: block.timestamp, pendingRefunds }),
  );
  return { sessions: sessions.reverse(), pendingRefunds, timestamp: block.timestamp };
}

/**
 * A session as `listSessions` lists it: its expiry and what the depositor can do with it at the
 * block of `timestamp`, given the refunds waiting (`pendingRefunds`, per asset). For a caller that
 * reads the sessions itself (a page that reads only the sessions it shows).
 */
export function listedSession(
  session: OnChainSession,
  context: { openedAtBlock: bigint; timestamp: bigint; pendingRefunds: readonly PendingRefund[] },
): ListedSession {
  const expiresAt = session.createdAt + session.maxDuration;
  const expired = context.timestamp >= expiresAt;
  const refundWaits = context.pendingRefunds.some((refund) => refund.amount > 0n && refund.token.toLowerCase() === session.token.toLowerCase());
  const actions: SessionAction[] = session.status === "active" ? (expired ? ["close", "timeout"] : ["resume", "close"]) : refundWaits ? ["withdrawRefund"] : [];
  return { ...session, openedAtBlock: context.openedAtBlock, expiresAt, expired, actions };
}
