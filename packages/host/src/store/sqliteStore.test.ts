import { fdatasync, fstatSync, mkdirSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { promisify } from "node:util";
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { emptyTranscriptHash } from "@session-jobs/protocol";
import { settled, until } from "../testUtils/promiseState.ts";
import { deployment, exchange, hash, writeOldSchemaDatabase } from "../testUtils/storeFixtures.ts";
import { createStore } from "./sqliteStore.ts";
import type { StoredExchange } from "./storeTypes.ts";
import { tempDirsRemovedAfterAll } from "../testUtils/tempDirs.ts";

const tempDir = tempDirsRemovedAfterAll();

const freshPath = () => join(tempDir("host-store-"), "host.sqlite");

describe("store", () => {
  it("refuses a database made for another chain, contract or host", async () => {
    const path = freshPath();
    await createStore({ path, deployment }).close();
    expect(() => createStore({ path, deployment: { ...deployment, chainId: 1 } })).toThrow(/database belongs to chainId 31337, not 1/);
  });

  it("keeps each exchange's signed request and answer across a reopen until a receipt covers it and another receipt follows", async () => {
    const path = freshPath();
    const store = createStore({ path, deployment });
    await store.ensureSession(1n, 100);
    const first = { ...exchange, sequence: 1n, promptTokens: 10, completionTokens: 30, cumulativeTokens: 40, transcriptHash: hash("aa") };
    const second = {
      ...exchange,
      sequence: 3n,
      promptTokens: 5,
      completionTokens: 7,
      cumulativeTokens: 52,
      transcriptHash: hash("bb"),
      aborted: true,
      previousTranscriptHash: hash("aa"),
      requestBody: new Uint8Array([0x7b, 0x00, 0xff, 0x7d]),
      requestSignature: "0xabcd",
      responseText: "God created",
    } as const;
    await store.appendExchange(first);
    await store.appendExchange(second);
    await store.close();

    const reopened = createStore({ path, deployment });
    expect(reopened.exchangesAfter(1n, undefined)).toEqual([first, second]);
    expect(reopened.exchangesAfter(2n, undefined)).toEqual([]);
    expect(reopened.exchangesAfter(1n, { cumulativeTokens: 40, transcriptHash: hash("aa") })).toEqual([second]);

    expect(await reopened.storeReceipt({ jobId: 1n, cumulativeTokens: 40, transcriptHash: hash("aa"), signature: "0x01" })).toBe(true);
    expect(reopened.exchangesAfter(1n, reopened.newestReceipt(1n))).toEqual([second]);
    // The newest receipt's exchanges stay for a client that signed for them and then lost its state.
    expect(reopened.exchangesAfter(1n, undefined)).toEqual([first, second]);
    expect(reopened.unsignedBytes(1n)).toBe(second.requestBody.length + second.responseText.length);

    expect(await reopened.storeReceipt({ jobId: 1n, cumulativeTokens: 52, transcriptHash: hash("bb"), signature: "0x02" })).toBe(true);
    expect(reopened.exchangesAfter(1n, reopened.newestReceipt(1n))).toEqual([]);
    // The receipt before the newest covers the first: it lost its request, not its record (receipts for it still verify).
    expect(reopened.exchangesAfter(1n, undefined)).toEqual([second]);
    expect(reopened.unsignedBytes(1n)).toBe(0);
    expect(reopened.syncBytes(1n)).toBe(second.requestBody.length + second.responseText.length);
    expect(reopened.exchangesAt(1n, 40)).toEqual([
      { jobId: 1n, sequence: 1n, promptTokens: 10, completionTokens: 30, cumulativeTokens: 40, transcriptHash: hash("aa"), aborted: false },
    ]);
    await reopened.close();
  });

  it("counts the bytes it keeps for unreceipted exchanges and drops them all when the session settles", async () => {
    const store = createStore({ path: freshPath(), deployment });
    await store.ensureSession(1n, 100);
    await store.ensureSession(2n, 100);
    const body = new TextEncoder().encode('{"messages":[]}');
    await store.appendExchange({
      ...exchange,
      sequence: 1n,
      promptTokens: 1,
      completionTokens: 1,
      cumulativeTokens: 2,
      transcriptHash: hash("aa"),
      requestBody: body,
      responseText: "héllo",
    });
    await store.appendExchange({ ...exchange, jobId: 2n, sequence: 1n, promptTokens: 1, completionTokens: 1, cumulativeTokens: 2, transcriptHash: hash("cc") });
    // Request bytes plus the answer's UTF-8 bytes (é is two).
    expect(store.unsignedBytes(1n)).toBe(body.length + 6);
    await store.markClosed(1n);
    expect(store.session(1n)?.closed).toBe(true);
    expect(store.unsignedBytes(1n)).toBe(0);
    expect(store.exchangesAfter(1n, undefined)).toEqual([]);
    // The exchange's count and hash stay (receipts are still checked against them); other sessions keep theirs.
    expect(store.exchangesAt(1n, 2).map((kept) => kept.transcriptHash)).toEqual([hash("aa")]);
    expect(store.exchangesAfter(2n, undefined)).toHaveLength(1);

    const id = await store.recordSubmission({
      kind: "final",
      nonce: 0,
      txHash: hash("dd"),
      rawTx: "0x02",
      entries: [{ jobId: 2n, cumulativeTokens: 0, tokensInBatch: 0 }],
    });
    await store.setSubmissionStatus(id, "confirmed");
    expect(store.exchangesAfter(2n, undefined)).toEqual([]);
    await store.close();
  });

  it("migrates a database whose exchanges were written before they kept their requests", async () => {
    const path = freshPath();
    writeOldSchemaDatabase(path, deployment);

    const store = createStore({ path, deployment });
    expect(store.session(1n)).toMatchObject({ lastSequence: 1n, servedTokens: 40, transcriptHash: hash("aa"), closing: false });
    expect(store.exchangesAt(1n, 40).map((recorded) => recorded.transcriptHash)).toEqual([hash("aa")]);
    // An exchange served by the old node has no request to hand back; newer ones do.
    expect(store.exchangesAfter(1n, undefined)).toEqual([]);
    const next = {
      ...exchange,
      sequence: 2n,
      promptTokens: 4,
      completionTokens: 4,
      cumulativeTokens: 48,
      transcriptHash: hash("bb"),
      previousTranscriptHash: hash("aa"),
    };
    await store.appendExchange(next);
    expect(store.exchangesAfter(1n, undefined)).toEqual([next]);
    expect(await store.storeReceipt({ jobId: 1n, cumulativeTokens: 40, transcriptHash: hash("aa"), signature: "0x01" })).toBe(true);
    expect(store.exchangesAfter(1n, store.newestReceipt(1n))).toEqual([next]);
    await store.close();

    // Opening the migrated database again changes nothing.
    const reopened = createStore({ path, deployment });
    expect(reopened.exchangesAfter(1n, reopened.newestReceipt(1n))).toEqual([next]);
    await reopened.close();
  });

  it("finds a session's proof submissions through an index on the job id, not by reading every submission entry ever written (one look per receipt)", async () => {
    const path = freshPath();
    const store = createStore({ path, deployment });
    for (const [nonce, jobId, tokens] of [
      [0, 7n, 40],
      [1, 8n, 10],
    ] as const)
      await store.recordSubmission({
        kind: "batch",
        nonce,
        txHash: hash(`0${nonce + 1}`),
        rawTx: "0x01",
        entries: [{ jobId, cumulativeTokens: tokens, tokensInBatch: tokens }],
      });
    expect(store.submissionsOfJob(7n).map((submission) => submission.txHash)).toEqual([hash("01")]);
    const reader = new Database(path, { readonly: true });
    const plan = reader
      .prepare<[string], { detail: string }>(
        "EXPLAIN QUERY PLAN SELECT s.* FROM submissions s JOIN submission_entries e ON e.submission_id = s.id WHERE e.job_id = ?",
      )
      .all("7")
      .map((step) => step.detail);
    reader.close();
    await store.close();
    expect(plan.join("; ")).toMatch(/SEARCH e USING (COVERING )?INDEX submission_entries_by_job \(job_id=\?\)/);
  });

  /**
   * A test here makes up to ~600 store writes. At a load average of 16-27 on two cores they took
   * over Vitest's default 5 s with the WAL synced (fdatasync on a disk that others share), about
   * 2 s without the sync, and once 5.4 s even so.
   */
  describe("after settlement", { timeout: 30_000 }, () => {
    /** Stores that skip the WAL's fdatasync: these tests count rows and pages, not what survives a crash. */
    const unsyncedStore = (path: string) => createStore({ path, deployment, datasync: () => Promise.resolve() });
    /** Serves `requests` exchanges of job `jobId`, each receipted, one checkpoint proof, then the settlement; returns the last exchange. */
    const serveAndSettle = async (store: ReturnType<typeof createStore>, jobId: bigint, requests: number) => {
      await store.ensureSession(jobId, 1000);
      let last: StoredExchange | undefined;
      for (let request = 1; request <= requests; request++) {
        expect(await store.claimSequence(jobId, BigInt(request))).toBe(true);
        last = {
          ...exchange,
          jobId,
          sequence: BigInt(request),
          promptTokens: 4,
          completionTokens: 60,
          cumulativeTokens: 64 * request,
          transcriptHash: hash((request % 256).toString(16).padStart(2, "0")),
          previousTranscriptHash: last?.transcriptHash ?? emptyTranscriptHash,
        };
        await store.appendExchange(last);
        await store.storeReceipt({ jobId, cumulativeTokens: last.cumulativeTokens, transcriptHash: last.transcriptHash, signature: `0x${"ab".repeat(65)}` });
        if (request === Math.ceil(requests / 2)) {
          const proof = await store.recordSubmission({
            kind: "checkpoint",
            nonce: Number(jobId) * 2,
            txHash: `0x${jobId.toString(16).padStart(64, "e")}`,
            rawTx: "0x02",
            entries: [{ jobId, cumulativeTokens: last.cumulativeTokens, tokensInBatch: last.cumulativeTokens }],
          });
          await store.setSubmissionStatus(proof, "confirmed");
        }
      }
      const settlement = await store.recordSubmission({
        kind: "final",
        nonce: Number(jobId) * 2 + 1,
        txHash: `0x${jobId.toString(16).padStart(64, "f")}`,
        rawTx: "0x03",
        entries: [{ jobId, cumulativeTokens: last!.cumulativeTokens, tokensInBatch: 1 }],
      });
      await store.setSubmissionStatus(settlement, "confirmed");
      return last!;
    };
    const rows = (path: string, table: string) => {
      const db = new Database(path, { readonly: true });
      try {
        return db.prepare<[], { n: number }>(`SELECT count(*) AS n FROM ${table}`).get()!.n;
      } finally {
        db.close();
      }
    };

    it("keeps the final receipt, the last exchange and the proof and settlement transactions, and prunes the rest", async () => {
      const path = freshPath();
      const store = unsyncedStore(path);
      const last = await serveAndSettle(store, 1n, 30);
      expect(rows(path, "exchanges")).toBe(1);
      expect(rows(path, "receipts")).toBe(1);
      expect(store.newestReceipt(1n)).toMatchObject({ cumulativeTokens: last.cumulativeTokens, transcriptHash: last.transcriptHash });
      expect(store.lastExchange(1n)).toMatchObject({ sequence: 30n, cumulativeTokens: last.cumulativeTokens });
      expect(store.submissionsOfJob(1n).map((submission) => [submission.kind, submission.status])).toEqual([
        ["checkpoint", "confirmed"],
        ["final", "confirmed"],
      ]);
      expect(store.session(1n)).toMatchObject({ closed: true, servedTokens: last.cumulativeTokens, signedTokens: last.cumulativeTokens, lastSequence: 30n });
      // A late receipt for a settled session does not bring pruned rows back.
      await store.storeReceipt({ jobId: 1n, cumulativeTokens: last.cumulativeTokens, transcriptHash: last.transcriptHash, signature: "0x01" });
      expect(rows(path, "receipts")).toBe(1);
      await store.close();
      expect(rows(path, "exchanges")).toBe(1);
    });

    it("does not grow with the number of requests: settled sessions of 2 and of 40 requests take the same pages", async () => {
      const usedPages = async (requests: number) => {
        const path = freshPath();
        const store = unsyncedStore(path);
        for (let jobId = 1n; jobId <= 5n; jobId++) await serveAndSettle(store, jobId, requests);
        await store.close();
        const db = new Database(path, { readonly: true });
        try {
          return {
            used: db.pragma("page_count", { simple: true }) as number,
            free: db.pragma("freelist_count", { simple: true }) as number,
            exchanges: rows(path, "exchanges"),
            receipts: rows(path, "receipts"),
          };
        } finally {
          db.close();
        }
      };
      const few = await usedPages(2);
      const many = await usedPages(40);
      expect([many.exchanges, many.receipts]).toEqual([5, 5]);
      expect([few.exchanges, few.receipts]).toEqual([5, 5]);
      expect(many.used - many.free).toBeLessThanOrEqual(few.used - few.free + 1);
    });

    it("prunes a session the node finds settled on chain (markClosed) the same way", async () => {
      const path = freshPath();
      const store = unsyncedStore(path);
      await store.ensureSession(1n, 1000);
      for (let request = 1; request <= 5; request++) {
        await store.claimSequence(1n, BigInt(request));
        await store.appendExchange({
          ...exchange,
          sequence: BigInt(request),
          promptTokens: 4,
          completionTokens: 6,
          cumulativeTokens: 10 * request,
          transcriptHash: hash(`0${request}`),
          previousTranscriptHash: request === 1 ? emptyTranscriptHash : hash(`0${request - 1}`),
        });
        if (request < 5) await store.storeReceipt({ jobId: 1n, cumulativeTokens: 10 * request, transcriptHash: hash(`0${request}`), signature: "0x01" });
      }
      await store.markClosed(1n);
      expect(rows(path, "exchanges")).toBe(1);
      expect(rows(path, "receipts")).toBe(1);
      expect(store.newestReceipt(1n)?.cumulativeTokens).toBe(40);
      expect(store.lastExchange(1n)?.cumulativeTokens).toBe(50);
      expect(store.exchangesAfter(1n, store.newestReceipt(1n))).toEqual([]);
      await store.close();
    });
  });
});

describe("group commit", () => {
  it("commits the writes of many sessions issued in one turn together, and acknowledges none before it is on disk", async () => {
    const path = freshPath();
    const store = createStore({ path, deployment });
    for (const jobId of [1n, 2n, 3n]) await store.ensureSession(jobId, 100);
    await Promise.all([1n, 2n, 3n].map((jobId) => store.claimSequence(jobId, 1n)));
    const before = { ...store.commitStats };
    const reader = new Database(path, { readonly: true });
    const onDisk = (jobId: bigint) => reader.prepare<[string], { n: number }>("SELECT count(*) AS n FROM exchanges WHERE job_id = ?").get(jobId.toString())!.n;
    const seenAtResolution: number[] = [];
    await Promise.all(
      [1n, 2n, 3n].map((jobId) =>
        store
          .appendExchange({ ...exchange, jobId, sequence: 1n, promptTokens: 1, completionTokens: 2, cumulativeTokens: 3, transcriptHash: hash("aa") })
          .then(() => seenAtResolution.push(onDisk(jobId))),
      ),
    );
    expect(seenAtResolution).toEqual([1, 1, 1]);
    expect(store.commitStats.commits - before.commits).toBe(1);
    expect(store.commitStats.writes - before.writes).toBe(3);
    // A session already known as the chain has it is read, not written, on every request.
    await store.ensureSession(1n, 100);
    expect(store.commitStats.commits - before.commits).toBe(1);
    reader.close();
    await store.close();
  });

  it("commits a first-contact session row and a sequence claim at once, each alone, within the turn of the event loop; the turn's durable writes wait for their group", async () => {
    const path = freshPath();
    const store = createStore({ path, deployment });
    await store.ensureSession(9n, 100);
    const before = { ...store.commitStats };
    let turnEnded = false;
    setImmediate(() => (turnEnded = true)); // runs before any group flush scheduled below
    const proven = settled(store.setProvenTokens(9n, 1));
    expect(await store.ensureSession(1n, 100)).toMatchObject({ jobId: 1n, lastSequence: 0n });
    expect(await store.claimSequence(1n, 1n)).toBe(true);
    expect(await store.claimSequence(1n, 1n)).toBe(false);
    expect(turnEnded).toBe(false);
    expect(store.commitStats.commits - before.commits).toBe(3);
    expect(proven.done).toBe(false);
    // Committed: another connection sees them before any sync.
    const reader = new Database(path, { readonly: true });
    expect(reader.prepare<[], { last_sequence: string }>("SELECT last_sequence FROM sessions WHERE job_id = '1'").get()).toEqual({ last_sequence: "1" });
    await until(() => proven.done);
    expect(store.session(9n)?.provenTokens).toBe(1);
    reader.close();
    await store.close();
  });

  it("a write that fails in a group rejects its own caller, takes back what it wrote, and leaves the others committed", async () => {
    const path = freshPath();
    const store = createStore({ path, deployment });
    await store.ensureSession(1n, 100);
    await store.ensureSession(2n, 100);
    const before = store.commitStats.commits;
    const [exchanged, duplicated, receipted] = await Promise.allSettled([
      store.appendExchange({ ...exchange, jobId: 1n, sequence: 1n, promptTokens: 1, completionTokens: 2, cumulativeTokens: 3, transcriptHash: hash("aa") }),
      // The submission row goes in, then its second entry breaks the primary key: the whole write is taken back.
      store.recordSubmission({
        kind: "batch",
        nonce: 0,
        txHash: hash("cc"),
        rawTx: "0x02",
        entries: [
          { jobId: 2n, cumulativeTokens: 1, tokensInBatch: 1 },
          { jobId: 2n, cumulativeTokens: 1, tokensInBatch: 1 },
        ],
      }),
      store.setProvenTokens(2n, 7),
    ]);
    expect(exchanged.status).toBe("fulfilled");
    expect(receipted.status).toBe("fulfilled");
    expect(duplicated).toMatchObject({ status: "rejected", reason: { code: "SQLITE_CONSTRAINT_PRIMARYKEY" } });
    expect(store.commitStats.commits - before).toBe(1);
    expect(store.fault()).toBeUndefined();
    await store.close();

    const reopened = createStore({ path, deployment });
    expect(reopened.session(1n)?.servedTokens).toBe(3);
    expect(reopened.session(2n)?.provenTokens).toBe(7);
    expect(reopened.pendingSubmissions()).toEqual([]);
    await reopened.close();
  });
});

describe("WAL sync", () => {
  it("commits a durable write into the WAL file, and acknowledges it only after the WAL's own fdatasync returned", async () => {
    const path = freshPath();
    const held: { fd: number; release: () => void }[] = [];
    // The real fdatasync, run only once the test releases it.
    const datasync = (fd: number) => new Promise<void>((release) => held.push({ fd, release })).then(() => promisify(fdatasync)(fd));
    const store = createStore({ path, deployment, datasync });
    await store.ensureSession(1n, 100);
    await store.claimSequence(1n, 1n); // resolved at its COMMIT: no sync of its own
    expect(held).toHaveLength(0);
    const walBefore = statSync(`${path}-wal`).size;
    const append = settled(
      store.appendExchange({ ...exchange, sequence: 1n, promptTokens: 1, completionTokens: 2, cumulativeTokens: 3, transcriptHash: hash("aa") }),
    );
    await until(() => held.length === 1);
    expect(statSync(`${path}-wal`).size).toBeGreaterThan(walBefore);
    expect(fstatSync(held[0]!.fd).ino).toBe(statSync(`${path}-wal`).ino); // the descriptor synced is the WAL's
    const reader = new Database(path, { readonly: true });
    expect(reader.prepare("SELECT cumulative_tokens FROM exchanges").all()).toEqual([{ cumulative_tokens: 3 }]); // committed
    const barrier = settled(store.synced());
    await new Promise((resolve) => setImmediate(resolve));
    expect([append.done, barrier.done]).toEqual([false, false]); // not acknowledged, not shown as durable: not yet synced
    held[0]!.release();
    await until(() => append.done && barrier.done);
    expect(append.error).toBeUndefined();
    await store.synced(); // nothing unsynced: no sync more
    expect(held).toHaveLength(1);
    reader.close();
    await store.close();

    const reopened = createStore({ path, deployment });
    expect(reopened.session(1n)).toMatchObject({ lastSequence: 1n, servedTokens: 3 });
    await reopened.close();
  });

  it("a failed fdatasync is a storage fault: every unsynced caller gets storage_unavailable, new work is refused, nothing more is written", async () => {
    const path = freshPath();
    const faults: string[] = [];
    let fail = false;
    const datasync = (fd: number) => (fail ? Promise.reject(Object.assign(new Error("EIO: i/o error, fdatasync"), { code: "EIO" })) : promisify(fdatasync)(fd));
    const store = createStore({ path, deployment, datasync, onFault: (fault) => faults.push(fault) });
    await store.ensureSession(1n, 100);
    await store.appendExchange({ ...exchange, sequence: 1n, promptTokens: 1, completionTokens: 2, cumulativeTokens: 3, transcriptHash: hash("aa") });
    fail = true;
    const unsynced = await Promise.allSettled([
      store.appendExchange({
        ...exchange,
        sequence: 2n,
        promptTokens: 1,
        completionTokens: 1,
        cumulativeTokens: 5,
        transcriptHash: hash("bb"),
        previousTranscriptHash: hash("aa"),
      }),
      store.setProvenTokens(1n, 3),
    ]);
    for (const outcome of unsynced) expect(outcome).toMatchObject({ status: "rejected", reason: { code: "storage_unavailable", status: 503 } });
    expect(faults).toEqual([expect.stringMatching(/writing .*host\.sqlite failed \(EIO\)/)]);
    expect(() => store.assertWritable()).toThrow(expect.objectContaining({ code: "storage_unavailable" }));
    await expect(store.synced()).rejects.toMatchObject({ code: "storage_unavailable" });
    await expect(store.storeReceipt({ jobId: 1n, cumulativeTokens: 3, transcriptHash: hash("aa"), signature: "0x01" })).rejects.toMatchObject({
      code: "storage_unavailable",
    });
    expect(store.newestReceipt(1n)).toBeUndefined(); // refused before it was committed
    await store.close();
  });

  it("syncs the WAL SQLite writes when the database path is a symbolic link (SQLite puts the WAL beside the file it points to)", async () => {
    const directory = tempDir("host-store-");
    mkdirSync(join(directory, "disk"));
    const target = join(directory, "disk", "host.sqlite");
    const path = join(directory, "host.sqlite");
    await createStore({ path: target, deployment }).close();
    symlinkSync(target, path);
    // Without a file beside the link the store could not open; with one (left from before the move), it synced that one.
    for (const decoy of [false, true]) {
      if (decoy) writeFileSync(`${path}-wal`, "");
      const synced: number[] = [];
      const store = createStore({ path, deployment, datasync: (fd) => (synced.push(fstatSync(fd).ino), Promise.resolve()) });
      const jobId = decoy ? 2n : 1n;
      await store.ensureSession(jobId, 100);
      await store.appendExchange({ ...exchange, jobId, sequence: 1n, promptTokens: 1, completionTokens: 2, cumulativeTokens: 3, transcriptHash: hash("aa") });
      expect(synced).toEqual([statSync(`${target}-wal`).ino]);
      await store.close();
    }
  });

  it("close() never syncs through a closed descriptor: a write issued while it waits for the last sync is refused, not committed", async () => {
    const path = freshPath();
    const held: { fd: number; release: () => void }[] = [];
    // The real fdatasync, run only once the test releases it: on a descriptor close() has closed, it fails with EBADF.
    const datasync = (fd: number) => new Promise<void>((release) => held.push({ fd, release })).then(() => promisify(fdatasync)(fd));
    const faults: string[] = [];
    const store = createStore({ path, deployment, datasync, onFault: (fault) => faults.push(fault) });
    await store.ensureSession(1n, 100);
    const append = settled(
      store.appendExchange({ ...exchange, sequence: 1n, promptTokens: 1, completionTokens: 2, cumulativeTokens: 3, transcriptHash: hash("aa") }),
    );
    await until(() => held.length === 1);
    const closed = settled(store.close());
    // While close() waits for that sync: a proof that landed at shutdown (its group commits on the next turn).
    const late = settled(store.setProvenTokens(1n, 3));
    await new Promise((resolve) => setImmediate(resolve));
    held[0]!.release();
    await until(() => closed.done);
    for (const sync of held.slice(1)) sync.release();
    await until(() => late.done);
    expect([append.done, append.error, closed.error]).toEqual([true, undefined, undefined]);
    expect(held).toHaveLength(1); // no sync started that close() could not wait for
    expect(late.error).toMatchObject({ code: "storage_unavailable" });
    expect(faults).toEqual([]); // the disk never failed
    const reopened = createStore({ path, deployment });
    expect(reopened.session(1n)).toMatchObject({ servedTokens: 3, provenTokens: 0 });
    await reopened.close();
  });
});

describe("store faults", () => {
  it("refuses a second node on the same database while the first has it open", async () => {
    const path = freshPath();
    const first = createStore({ path, deployment });
    expect(() => createStore({ path, deployment })).toThrow(/database .* is in use by another host process/);
    await first.close();
    const second = createStore({ path, deployment });
    expect(second.fault()).toBeUndefined();
    await second.close();
  });

  it("refuses a second node that reaches the same database through a symbolic link to its file, or to its folder", async () => {
    const path = freshPath();
    const first = createStore({ path, deployment });
    const links = tempDir("host-links-");
    symlinkSync(path, join(links, "linked.sqlite"));
    symlinkSync(dirname(path), join(links, "folder"));
    expect(() => createStore({ path: join(links, "linked.sqlite"), deployment })).toThrow(/is in use by another host process/);
    expect(() => createStore({ path: join(links, "folder", basename(path)), deployment })).toThrow(/is in use by another host process/);
    await first.close();
  });

  it("a database file removed under the node refuses new work, and closing puts everything stored back", async () => {
    const path = freshPath();
    const faults: string[] = [];
    const store = createStore({ path, deployment, onFault: (fault) => faults.push(fault) });
    await store.ensureSession(1n, 100);
    await store.claimSequence(1n, 1n);
    await store.appendExchange({ ...exchange, sequence: 1n, promptTokens: 10, completionTokens: 30, cumulativeTokens: 40, transcriptHash: hash("aa") });
    await store.storeReceipt({ jobId: 1n, cumulativeTokens: 40, transcriptHash: hash("aa"), signature: "0x1234" });
    for (const suffix of ["", "-wal", "-shm"]) rmSync(`${path}${suffix}`, { force: true });

    expect(store.fault()).toMatch(/was removed or replaced/);
    expect(() => store.assertWritable()).toThrow(expect.objectContaining({ code: "storage_unavailable", status: 503 }));
    expect(faults).toHaveLength(1);
    // The node's own bookkeeping goes on in the open handle (its proofs still land).
    await store.setProvenTokens(1n, 40);
    await store.close();

    const reopened = createStore({ path, deployment });
    expect(reopened.session(1n)).toMatchObject({ lastSequence: 1n, servedTokens: 40, signedTokens: 40, provenTokens: 40 });
    expect(reopened.newestReceipt(1n)?.cumulativeTokens).toBe(40);
    expect(await reopened.claimSequence(1n, 1n)).toBe(false);
    await reopened.close();
  });
});
