/**
 * The closing lease across host processes whose clocks disagree: two protocol instances on one
 * real PostgreSQL database, one process clock an hour ahead of the other. The lease is set and
 * judged on the database's clock, so skew between the machines neither opens a session being
 * closed nor holds it past its lease.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generatePrivateKey, privateKeyToAccount, type LocalAccount } from "viem/accounts";
import type { Address, Hex } from "viem";
import { emptyTranscriptHash, sessionEndpoints, signSessionRequestHeaders, type SignedEndpoint } from "@session-jobs/protocol";
import { createSessionCache, type OnChainSession } from "../chain/chainSession.ts";
import { createCommon } from "../common.ts";
import { createByteBudget } from "../http/byteBudget.ts";
import { createPostgresStore } from "../store/postgresStore.ts";
import type { Store } from "../store/storeTypes.ts";
import { onChainSessionFields, wallChainClock } from "../testUtils/onChainSession.ts";
import { startTestPostgres, type TestPostgres } from "../testUtils/testPostgres.ts";
import { createExposurePolicy } from "./exposure.ts";
import { createSessionProtocol, parseSessionHeaders, type SessionProtocol } from "./sessionProtocol.ts";

const host = privateKeyToAccount(generatePrivateKey());
const domain = { chainId: 31337, marketplace: "0x5FbDB2315678afecb367f032d93F642f64180aa3" as Address };
const servedModel: Hex = `0x${"11".repeat(32)}`;
const closingLeaseMs = 60_000;
const hourMs = 3_600_000;
const chain = new Map<bigint, OnChainSession>();
let nextJobId = 1n;
let postgres: TestPostgres;
let database: string;
const stores: Store[] = [];
/**
 * The process whose clock is right, and one whose clock runs an hour ahead of it (its store's). The
 * protocol reads neither: the lease is on the database's clock, a session's duration on the chain's.
 */
let onTime: SessionProtocol;
let ahead: SessionProtocol;

function openProcess(store: Store): SessionProtocol {
  const limits = { maxCheckpointInterval: 1_000_000 };
  return createSessionProtocol({
    common: createCommon({ logLevel: "silent" }),
    store,
    sessions: createSessionCache({ read: async (jobId) => chain.get(jobId)!, maxAgeMs: 0 }),
    domain,
    host: host.address,
    models: [servedModel],
    maxUnsignedBytes: 16 * 1024,
    syncBudget: createByteBudget({ capacity: 32 * 1024 }),
    exposure: createExposurePolicy(limits),
    closingLeaseMs,
    isContract: async () => false,
    isValidContractSignature: async () => false,
    chainClock: wallChainClock(),
  });
}

beforeAll(async () => {
  postgres = await startTestPostgres({ fsync: false });
  database = await postgres.createDatabase();
  // The second process's clock runs an hour ahead: its store records times on it.
  for (const now of [Date.now, () => Date.now() + hourMs])
    stores.push(await createPostgresStore({ url: database, deployment: { ...domain, host: host.address }, poolSize: 2, now }));
  onTime = openProcess(stores[0]!);
  ahead = openProcess(stores[1]!);
}, 120_000);

afterAll(async () => {
  await Promise.all(stores.map((store) => store.close()));
  postgres?.stop();
});

/** A session on the in-memory chain, long enough that neither clock sees it pass its maximum duration. */
function openSession(): { jobId: bigint; key: LocalAccount } {
  const jobId = nextJobId++;
  const key = privateKeyToAccount(generatePrivateKey());
  chain.set(jobId, { jobId, ...onChainSessionFields({ host: host.address, signer: key.address, modelId: servedModel }), maxDuration: 86_400n });
  return { jobId, key };
}

/** A request signed by the session key, as the HTTP layer hands it to the protocol. */
async function signed({ jobId, key }: { jobId: bigint; key: LocalAccount }, endpoint: SignedEndpoint, sequence: bigint) {
  const body = new TextEncoder().encode(JSON.stringify({ jobId: jobId.toString() }));
  const headers = await signSessionRequestHeaders(key, domain, { jobId, sequence, transcriptHash: emptyTranscriptHash, endpoint, body });
  return parseSessionHeaders(headers, endpoint, body);
}

/** One process takes a close and its turn ends with the lease still held: its wait for the transaction ended unmined, or it died before sending it. */
async function closeAndLeave(closer: SessionProtocol, session: { jobId: bigint; key: LocalAccount }): Promise<void> {
  const turn = await closer.beginClose(await closer.authenticate(await signed(session, sessionEndpoints.close, 1n)));
  turn.release();
}

describe("closing lease across skewed process clocks (PostgreSQL)", () => {
  it("the process whose clock runs ahead refuses a session while another process closes it", async () => {
    const session = openSession();
    await closeAndLeave(onTime, session);
    // On its own clock the lease would have ended an hour ago.
    await expect(ahead.authenticate(await signed(session, sessionEndpoints.chat, 2n))).rejects.toMatchObject({
      code: "session_not_active",
      message: `session ${session.jobId} is closing`,
    });
    await expect(ahead.authenticate(await signed(session, sessionEndpoints.sync, 2n))).rejects.toMatchObject({ code: "session_not_active" });
  });

  it("the process whose clock runs behind serves the session again once the lease ends on the database's clock", async () => {
    const session = openSession();
    await closeAndLeave(ahead, session);
    await expect(onTime.authenticate(await signed(session, sessionEndpoints.chat, 2n))).rejects.toMatchObject({ code: "session_not_active" });
    // The database's clock passes the lease (the lease moved back by its length, as the clock cannot be).
    await postgres.query(database, "UPDATE sessions SET closing_until_ms = closing_until_ms - $1 WHERE job_id = $2", [
      closingLeaseMs + 1,
      session.jobId.toString(),
    ]);
    await expect(onTime.authenticate(await signed(session, sessionEndpoints.chat, 2n))).resolves.toMatchObject({ jobId: session.jobId });
    await expect(ahead.authenticate(await signed(session, sessionEndpoints.chat, 2n))).resolves.toMatchObject({ jobId: session.jobId });
  });
});
