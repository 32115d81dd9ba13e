import { closeSession } from "@session-jobs/sdk";
import type { Command } from "../command.ts";
import { readAssetDisplay } from "../assets.ts";
import { connectDeployment, connectionOptions, signingWallet } from "../connection.ts";
import { settlementRows, table } from "../format.ts";
import { followMovedHostBeforeClose } from "../movedHost.ts";
import { loadSession, saveSession, savedSessionOptions } from "../sessionStore.ts";

export const clientCloseCommand: Command = {
  path: ["client", "close"],
  summary: "close a saved session: the host proves the last receipt and settles (else the client does)",
  options: {
    ...connectionOptions,
    ...savedSessionOptions,
    force: {
      type: "boolean",
      description:
        "if the host says a close is under way but it does not settle within 60 s, settle as the depositor anyway: the host is paid only what it has proven on chain and loses receipts it holds but has not proven (for a host that never settles)",
    },
  },
  async run(common, values) {
    const connection = await connectDeployment(common, clientCloseCommand, values);
    const { session } = loadSession(clientCloseCommand, values, connection.chainId);
    const wallet = signingWallet(common, connection);
    const asset = await readAssetDisplay(connection.publicClient, session.token, connection.deployment);
    await followMovedHostBeforeClose(common, values, connection, session);
    try {
      // A close under way that does not settle in time fails with the SDK's hint, which names --force.
      const settlement = await common.logger.progress(`closing session ${session.jobId}`, () =>
        closeSession(wallet, { session, signal: common.signal, force: values.force === true }),
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
