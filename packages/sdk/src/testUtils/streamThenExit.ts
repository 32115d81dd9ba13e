/**
 * TEST HELPER, run as its own process: streams one answer for the session in `SESSION_JSON` (a fresh
 * session, not restored), prints `iterated` once the iteration ended, and returns without waiting
 * for `result`: the process must stay alive until the receipt's delivery is answered. When its
 * event loop empties it prints whether the receipt was delivered by then.
 */
import { streamChat } from "../actions/streamChat.ts";
import { deserializeSession } from "../session/serialization.ts";

const session = { ...deserializeSession(process.env.SESSION_JSON!), restored: false };
process.once("beforeExit", () => process.stdout.write(`beforeExit delivered=${session.receipt?.delivered}\n`));
for await (const _delta of streamChat(session, { messages: [{ role: "user", content: "And the earth" }], maxTokens: 3 }));
process.stdout.write("iterated\n");
