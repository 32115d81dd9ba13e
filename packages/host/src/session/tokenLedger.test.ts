import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { emptyTranscriptHash } from "@session-jobs/protocol";
import { createPostgresStore } from "../store/postgresStore.ts";
import { createStore } from "../store/sqliteStore.ts";
import { exchange } from "../testUtils/storeFixtures.ts";
import { postgresStartTimeoutMs, startTestPostgres, type TestPostgres } from "../testUtils/testPostgres.ts";
import { readOpenSessionTokens, readStoreSessionTokens } from "./tokenLedger.ts";
import { tempDirsRemovedAfterAll } from "../testUtils/tempDirs.ts";

const tempDir = tempDirsRemovedAfterAll();

const deployment = { chainId: 31337, marketplace: "0x5FbDB2315678afecb367f032d93F642f64180aa3", host: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8" } as const;
const hash = (byte: string) => `0x${byte.repeat(32)}` as const;
const freshDir = () => tempDir("host-ledger-");

describe("readOpenSessionTokens", () => {
  it("reads served, signed and proven tokens of open sessions while the node holds the database", async () => {
    const path = join(freshDir(), "host.sqlite");
    const store = createStore({ path, deployment });
    for (const jobId of [2n, 10n, 3n]) await store.ensureSession(jobId, 100);
    await store.claimSequence(10n, 1n);
    await store.appendExchange({
      jobId: 10n,
      sequence: 1n,
      promptTokens: 20,
      completionTokens: 50,
      cumulativeTokens: 70,
      transcriptHash: hash("aa"),
      aborted: false,
      previousTranscriptHash: emptyTranscriptHash,
      requestBody: new TextEncoder().encode("{}"),
      requestSignature: "0x12",
      responseText: "In the beginning",
    });
    await store.storeReceipt({ jobId: 10n, cumulativeTokens: 70, transcriptHash: hash("aa"), signature: "0x01" });
    await store.setProvenTokens(10n, 40);
    await store.markClosed(3n);
    try {
      expect(readOpenSessionTokens(path)).toEqual([
        { jobId: 2n, servedTokens: 0, signedTokens: 0, provenTokens: 0 },
        { jobId: 10n, servedTokens: 70, signedTokens: 70, provenTokens: 40 },
      ]);
    } finally {
      await store.close();
    }
  });

  it("a database that does not exist yet (or is in memory) has no sessions, and none is created", () => {
    const path = join(freshDir(), "never.sqlite");
    expect(readOpenSessionTokens(path)).toEqual([]);
    expect(readOpenSessionTokens(":memory:")).toEqual([]);
    expect(() => readOpenSessionTokens(path)).not.toThrow();
  });

  it("a file that is not a node database is an error, not an empty list", () => {
    const path = join(freshDir(), "garbage.sqlite");
    writeFileSync(path, "not sqlite at all, just some text that is long enough to have a header".repeat(10));
    expect(() => readOpenSessionTokens(path)).toThrow();
  });
});

describe("readStoreSessionTokens", () => {
  let postgres: TestPostgres;
  beforeAll(async () => {
    postgres = await startTestPostgres({ fsync: false });
  }, postgresStartTimeoutMs);
  afterAll(() => postgres?.stop());

  it("reads the open sessions of a PostgreSQL store that host processes share, in job order; an empty database has none", async () => {
    const url = await postgres.createDatabase();
    expect(await readStoreSessionTokens({ kind: "postgres", url, poolSize: 1 })).toEqual([]);
    const store = await createPostgresStore({ url, deployment });
    for (const jobId of [10n, 2n, 3n]) await store.ensureSession(jobId, 100);
    await store.appendExchange({
      ...exchange,
      jobId: 10n,
      sequence: 1n,
      promptTokens: 20,
      completionTokens: 50,
      cumulativeTokens: 70,
      transcriptHash: hash("aa"),
    });
    await store.storeReceipt({ jobId: 10n, cumulativeTokens: 70, transcriptHash: hash("aa"), signature: "0x01" });
    await store.markClosed(3n);
    expect(await readStoreSessionTokens({ kind: "postgres", url, poolSize: 1 })).toEqual([
      { jobId: 2n, servedTokens: 0, signedTokens: 0, provenTokens: 0 },
      { jobId: 10n, servedTokens: 70, signedTokens: 70, provenTokens: 0 },
    ]);
    await store.close();
  });
});
