import { getHostPolicy, SessionNotActiveError, streamChat, syncSession, type ChatMessage, type Session } from "@session-jobs/sdk";
import { requireString, type Command } from "../command.ts";
import { loadDeployment, rpcUrlOption } from "../connection.ts";
import { followingMovedHost } from "../movedHost.ts";
import { CliError } from "../errors.ts";
import { hostRecordsError } from "../hostRecordsHint.ts";
import { parseIntegerOption } from "../parse.ts";
import { loadSession, saveSession, savedSessionOptions } from "../sessionStore.ts";

/**
 * The `max_tokens` sent when `--max-tokens` is not given (the host's own shipped default). Always
 * sent: it bounds what one answer can cost, and an answer the host claims to have written but never
 * delivered is signed for at most that many completion tokens (docs/design.md, "Answers that never
 * arrived live"). Without it the host's count is bounded only by the text it claims to have written.
 */
export const defaultChatMaxTokens = 256;

/**
 * `defaultChatMaxTokens`, or the host's own `max_tokens` limit where it publishes a lower one (a
 * host may only lower it this way, so what it publishes cannot raise what an answer can cost).
 * An unreadable policy leaves the default: the chat then says what is wrong with the host.
 */
async function defaultMaxTokensFor(session: Session, signal: AbortSignal): Promise<number> {
  try {
    const { limits } = await getHostPolicy({ hostUrl: session.hostUrl, signal });
    return Math.min(defaultChatMaxTokens, limits.maxTokens);
  } catch {
    return defaultChatMaxTokens;
  }
}

export const clientChatCommand: Command = {
  path: ["client", "chat"],
  summary: "send a prompt through a saved session, stream the answer and sign a receipt for it",
  options: {
    deployment: { type: "string", description: "deployment JSON written by `session-jobs deploy` (for its chain id)", env: "SESSION_JOBS_DEPLOYMENT" },
    ...savedSessionOptions,
    "rpc-url": { ...rpcUrlOption["rpc-url"], description: "JSON-RPC endpoint, read only when the host does not answer (to follow its registered URL)" },
    prompt: { type: "string", description: "the user message" },
    system: { type: "string", description: "a system message sent before it" },
    "max-tokens": {
      type: "string",
      description: `most completion tokens, always sent: the most one answer can cost, even one the host claims it sent and you never saw (default ${defaultChatMaxTokens}, or the host's own limit if lower)`,
    },
  },
  async run(common, values) {
    const prompt = requireString(clientChatCommand, values, "prompt");
    const givenMaxTokens =
      typeof values["max-tokens"] === "string" ? Number(parseIntegerOption("max-tokens", values["max-tokens"], { min: 1n, max: 1_000_000n })) : undefined;
    const deployment = loadDeployment(requireString(clientChatCommand, values, "deployment"));
    const { session } = loadSession(clientChatCommand, values, deployment.chainId);
    const messages: ChatMessage[] = [
      ...(typeof values.system === "string" ? [{ role: "system" as const, content: values.system }] : []),
      { role: "user", content: prompt },
    ];
    let text = "";
    try {
      // A saved session syncs first; if the last answer broke off (Ctrl-C, a lost connection), show what the host recorded of it.
      const rpcUrl = typeof values["rpc-url"] === "string" ? values["rpc-url"] : undefined;
      const { recovered } = await followingMovedHost(common, values, { session, deployment, rpcUrl }, () => syncSession(session, { signal: common.signal }));
      for (const exchange of recovered)
        common.logger.info(
          `recovered the ${exchange.aborted ? "cut-off " : ""}answer to request ${exchange.sequence} (${exchange.promptTokens} prompt + ${exchange.completionTokens} completion tokens, now signed for):\n${exchange.text}\n`,
        );
      // Read after the sync, so that a host followed to its registered URL is asked there.
      const maxTokens = givenMaxTokens ?? (await defaultMaxTokensFor(session, common.signal));
      const stream = streamChat(session, { messages, maxTokens, signal: common.signal });
      for await (const delta of stream) {
        text += delta;
        common.logger.write(delta);
      }
      const result = await stream.result;
      common.logger.result({
        jobId: session.jobId,
        recovered: recovered.map((exchange) => ({
          sequence: exchange.sequence,
          text: exchange.text,
          aborted: exchange.aborted,
          promptTokens: exchange.promptTokens,
          completionTokens: exchange.completionTokens,
        })),
        text,
        promptTokens: result.promptTokens,
        completionTokens: result.completionTokens,
        cumulativeTokens: result.cumulativeTokens,
      });
      common.logger.info(
        `\n\n${result.promptTokens} prompt + ${result.completionTokens} completion tokens; receipt signed for ${result.cumulativeTokens} tokens in total ` +
          `(${session.cumulativeTokens * session.pricePerToken} of ${session.deposit} base units of the deposit)`,
      );
    } catch (error) {
      // An answer cut off part way ends its line, so the error does not run on after it.
      if (text !== "" && !text.endsWith("\n")) common.logger.write("\n");
      const lostRecords = hostRecordsError(error, session.jobId);
      if (lostRecords) throw lostRecords;
      if (!(error instanceof SessionNotActiveError)) throw error;
      throw new CliError(
        `session ${session.jobId} is no longer active: ${error.hostMessage}`,
        `see how it ended with \`session-jobs client status --job ${session.jobId}\`; open a new session with \`session-jobs client open\``,
      );
    } finally {
      // The sequence, transcript hash and newest receipt move even when an exchange fails part way.
      saveSession(values, session);
    }
  },
};
