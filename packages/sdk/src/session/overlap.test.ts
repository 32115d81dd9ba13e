import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { closeSession } from "../actions/closeSession.ts";
import { streamChat, type StreamChatReturnType } from "../actions/streamChat.ts";
import { syncSession } from "../actions/syncSession.ts";
import { SessionReceiptMismatchError, SessionReceiptOverdueError } from "../errors/host.ts";
import { startOffChainSession } from "../testUtils/offChainSession.ts";
import type { TestHost, TestHostRequest } from "../testUtils/testHost.ts";
import { waitFor } from "../testUtils/waitFor.ts";
import { deserializeSession, serializeSession } from "./serialization.ts";
import { deliverReceipt } from "./receiptDelivery.ts";
import type { Session } from "./types.ts";

// docs/design.md, "Receipts overlap the next request": a stream's iteration ends once its exchange
// is accepted (checked and signed for); the receipt's delivery goes on behind the next request.

let session: Session;
let host: TestHost;
let openReceipts: () => void;
beforeEach(async () => {
  ({ session, host } = await startOffChainSession());
  host.behaviour.holdReceipts = new Promise<void>((resolve) => (openReceipts = resolve));
});
afterEach(async () => {
  openReceipts();
  await host.stop();
});

const messages = [{ role: "user" as const, content: "And the earth" }];

/** Iterates a stream to its end; `ended` turns true when the iteration did. */
function iterate(stream: StreamChatReturnType) {
  const state = { ended: false, text: "" };
  const done = (async () => {
    for await (const delta of stream) state.text += delta;
    state.ended = true;
  })();
  return { state, done };
}

const receiptPosts = () => host.requests.filter((request) => request.path === "/v1/session/receipt");
const lines = (requests: TestHostRequest[]) => requests.map((request) => String(request.code ?? request.status ?? "unanswered"));
const chatPosts = () => host.requests.filter((request) => request.path === "/v1/chat/completions");

describe("back-to-back requests while a receipt is on its way", () => {
  it("the iteration ends once the exchange is accepted; `result` settles once the receipt is delivered", async () => {
    const stream = streamChat(session, { messages, maxTokens: 4 });
    let settled = false;
    void stream.result.then(() => (settled = true));
    const { state, done } = iterate(stream);
    await waitFor(() => state.ended);
    await done;
    // The receipt is on its way: the host holds it unanswered.
    await waitFor(() => receiptPosts().length === 1);
    expect(session.receipt).toMatchObject({ cumulativeTokens: session.cumulativeTokens, delivered: false });
    expect(host.receipts.get(1n)).toBeUndefined();
    expect(settled).toBe(false);

    openReceipts();
    const result = await stream.result;
    expect(result.receipt.delivered).toBe(true);
    expect(result.text).toBe(state.text);
    expect(host.receipts.get(1n)?.cumulativeTokens).toBe(result.cumulativeTokens);
  });

  it("sends the next request at once, and delivers each receipt once, in order, the newest kept", async () => {
    const first = streamChat(session, { messages, maxTokens: 4 });
    await iterate(first).done;
    const second = streamChat(session, { messages, maxTokens: 3 });
    const { state } = iterate(second);
    await waitFor(() => state.ended && receiptPosts().length === 1);
    // The second request was served before the first receipt's answer; the second receipt waits its turn.
    expect(lines(chatPosts())).toEqual(["200", "200"]);
    expect(lines(receiptPosts())).toEqual(["unanswered"]);
    // Asking for the delivery again joins the one in flight: no second copy of a receipt.
    const again = deliverReceipt(session);

    openReceipts();
    const [firstResult, secondResult] = await Promise.all([first.result, second.result]);
    expect(await again).toBe(true);
    expect(firstResult.receipt.delivered).toBe(true);
    expect(secondResult.receipt.delivered).toBe(true);
    expect(lines(receiptPosts())).toEqual(["200", "200"]);
    expect(host.receipts.get(1n)?.cumulativeTokens).toBe(secondResult.cumulativeTokens);
    expect(session.cumulativeTokens).toBe(secondResult.cumulativeTokens);
  });

  it("a host that refuses the overlapping request (session_receipt_overdue) gets it again once the receipt is delivered", async () => {
    host.behaviour.maxUnsignedTokens = 1;
    const first = streamChat(session, { messages, maxTokens: 4 });
    await iterate(first).done;
    const second = streamChat(session, { messages, maxTokens: 3 });
    await waitFor(() => host.refusals.includes("session_receipt_overdue"));
    expect(host.exchanges.get(1n)).toHaveLength(1);

    openReceipts();
    const result = await second.result;
    expect(lines(chatPosts())).toEqual(["200", "session_receipt_overdue", "200"]);
    expect(lines(receiptPosts())).toEqual(["200", "200"]);
    // The refused request consumed nothing: the retry's sequence number is the next one up.
    expect(host.exchanges.get(1n)!.map((exchange) => exchange.sequence)).toEqual([1n, 3n]);
    expect(host.receipts.get(1n)?.cumulativeTokens).toBe(result.cumulativeTokens);
  });

  it("a refusal with no delivery of ours in flight is thrown, not retried", async () => {
    openReceipts();
    host.behaviour.maxUnsignedTokens = 1;
    const undelivered = (input: string | URL | Request, init?: RequestInit) =>
      String(input).endsWith("/v1/session/receipt") ? Promise.reject(new TypeError("fetch failed")) : fetch(input, init);
    expect((await streamChat(session, { messages, maxTokens: 4, fetch: undelivered }).result).receipt.delivered).toBe(false);
    await expect(streamChat(session, { messages, maxTokens: 3, fetch: undelivered }).result).rejects.toBeInstanceOf(SessionReceiptOverdueError);
    expect(chatPosts()).toHaveLength(2);
  });

  it("a receipt the host refuses rejects `result`, and is offered again, and refused, before the next request", async () => {
    const first = streamChat(session, { messages, maxTokens: 4 });
    await iterate(first).done;
    // The host loses its record of the exchange (its store was rolled back): it refuses the receipt.
    host.exchanges.set(1n, []);
    openReceipts();
    await expect(first.result).rejects.toBeInstanceOf(SessionReceiptMismatchError);
    await expect(streamChat(session, { messages, maxTokens: 3 }).result).rejects.toBeInstanceOf(SessionReceiptMismatchError);
    expect(chatPosts()).toHaveLength(1);
  });

  it("syncSession, closeSession and saved state see the receipt delivered", async () => {
    const first = streamChat(session, { messages, maxTokens: 4 });
    await iterate(first).done;
    // Saved mid-delivery, the state says so; restored, it syncs and delivers first.
    const saved = serializeSession(session);
    expect(deserializeSession(saved).receipt?.delivered).toBe(false);
    const synced = syncSession(session);
    let syncDone = false;
    void synced.then(() => (syncDone = true));
    await waitFor(() => receiptPosts().length === 1);
    expect(syncDone).toBe(false);
    openReceipts();
    expect((await synced).receipt?.delivered).toBe(true);
    expect(host.receipts.get(1n)?.cumulativeTokens).toBe(session.cumulativeTokens);

    let settledWith: bigint | undefined;
    const closing = { ...(await startOffChainSession()), held: undefined as (() => void) | undefined };
    try {
      const other = closing.session;
      closing.host.behaviour.holdReceipts = new Promise<void>((resolve) => (closing.held = resolve));
      const stream = streamChat(other, { messages, maxTokens: 4 });
      await iterate(stream).done;
      const closed = closeSession({ account: undefined } as never, { session: other, hostTimeoutMs: 3_600_000 }).catch((error: unknown) => error);
      // Close waits for the receipt in flight before its own request.
      await waitFor(() => closing.host.requests.some((request) => request.path === "/v1/session/receipt"));
      expect(closing.host.requests.some((request) => request.path === "/v1/session/close")).toBe(false);
      closing.held!();
      await closed;
      settledWith = closing.host.receipts.get(1n)?.cumulativeTokens;
      expect(closing.host.requests.map((request) => request.path)).toEqual(["/v1/chat/completions", "/v1/session/receipt", "/v1/session/close"]);
      expect(settledWith).toBe(other.cumulativeTokens);
    } finally {
      closing.held?.();
      await closing.host.stop();
    }
  });
});

describe("a process that ends right after the iteration", () => {
  it("stays alive until the receipt's delivery is answered: no receipt is dropped at exit", async () => {
    const script = fileURLToPath(new URL("../testUtils/streamThenExit.ts", import.meta.url));
    const child = spawn(process.execPath, ["--conditions=@session-jobs/source", "--import", "tsx", script], {
      env: { ...process.env, SESSION_JSON: serializeSession(session) },
      stdio: ["ignore", "pipe", "inherit"],
    });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
    // The child's loop ended and its receipt is held at the host: only the delivery keeps it alive.
    await waitFor(() => output.includes("iterated") && receiptPosts().length === 1, 60_000);
    openReceipts();
    expect(await exited).toBe(0);
    // Its event loop emptied only once the delivery was answered.
    expect(output).toBe("iterated\nbeforeExit delivered=true\n");
    expect(lines(receiptPosts())).toEqual(["200"]);
    expect(host.receipts.get(1n)?.cumulativeTokens).toBe(host.exchanges.get(1n)![0]!.cumulativeTokens);
  }, 60_000);
});
