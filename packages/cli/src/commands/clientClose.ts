import { closeSession, HostUnreachableError, type HostRetry } from "@session-jobs/sdk";
import type { Command } from "../command.ts";
import { readAssetDisplay } from "../assets.ts";
import { connectDeployment, connectionOptions, signingWallet } from "../connection.ts";
import { settlementRows, table } from "../format.ts";
import { followMovedHostBeforeClose } from "../movedHost.ts";
import { parseIntegerOption } from "../parse.ts";
import { loadSession, saveSession, savedSessionOptions } from "../sessionStore.ts";

export const clientCloseCommand: Command = {
  path: ["client", "close"],
  summary: "close a saved session: the host proves the last receipt and settles (else the client does)",
  options: {
    ...connectionOptions,
    ...savedSessionOptions,
    "host-timeout": {
      type: "string",
      description:
        "seconds the host gets to settle (default 60); a host that does not answer (down, restarting) is asked again meanwhile, then the client settles as the depositor",
    },
    force: {
      type: "boolean",
      description:
        "if the host says a close is under way but it does not settle within --host-timeout, settle as the depositor anyway: the host is paid only what it has proven on chain and loses receipts it holds but has not proven (for a host that never settles)",
    },
  },
  async run(common, values) {
    const hostTimeout = values["host-timeout"];
    const hostTimeoutMs =
      typeof hostTimeout === "string" ? Number(parseIntegerOption("host-timeout", hostTimeout, { min: 1n, max: 86_400n })) * 1000 : undefined;
    const connection = await connectDeployment(common, clientCloseCommand, values);
    const { session } = loadSession(clientCloseCommand, values, connection.chainId);
    const wallet = signingWallet(common, connection);
    const asset = await readAssetDisplay(connection.publicClient, session.token, connection.deployment);
    await followMovedHostBeforeClose(common, values, connection, session);
    try {
      // A close under way that does not settle in time fails with the SDK's hint, which names --force.
      const settlement = await common.logger.progress(`closing session ${session.jobId}`, () =>
        closeSession(wallet, {
          session,
          signal: common.signal,
          force: values.force === true,
          hostTimeoutMs,
          // One line, at the first retry: the close is waiting for the host, for how long, and how to change that.
          onHostRetry: (retry) => {
            if (retry.attempt === 1) common.logger.warn(hostRetryLine(session.hostUrl, retry));
          },
        }),
      );
      // eslint-disable-next-line @typescript-eslint/no-base-to-string -- shows whatever the host answered, an Error as "Name: message"
      const hostError = settlement.hostError === undefined ? undefined : String(settlement.hostError);
      common.logger.result({ signedTokens: session.cumulativeTokens, ...settlement, hostError });
      common.logger.info(`session ${session.jobId} settled in transaction ${settlement.transactionHash}`);
      common.logger.info(
        table([["tokens signed for", session.cumulativeTokens.toString()], ...settlementRows(settlement, asset), ["closed by", settlement.closedBy]]),
      );
    } finally {
      saveSession(values, session);
    }
  },
};

/** "the host did not answer … (ECONNREFUSED); asking it again for up to 59 s (--host-timeout to change), …" */
function hostRetryLine(hostUrl: string, retry: HostRetry): string {
  const why =
    retry.error instanceof HostUnreachableError ? (retry.error.code ?? "no answer") : `HTTP ${(retry.error as { status?: number }).status ?? "error"}`;
  const leftSeconds = Math.ceil((retry.hostTimeoutMs - retry.waitedMs) / 1000);
  return `the host did not answer the close at ${hostUrl} (${why}); asking it again for up to ${leftSeconds} s (--host-timeout to change), then the client settles without it`;
}
