import { existsSync } from "node:fs";
import { listSessions, type ListedSession, type SessionAction } from "@session-jobs/sdk";
import type { Command } from "../command.ts";
import { assetArgument, readAssetDisplay } from "../assets.ts";
import { connectDeployment, connectionOptions, requireContractCode, signingAccount } from "../connection.ts";
import { formatAmount, isoTime, table } from "../format.ts";
import { parseAddressOption } from "../parse.ts";
import { sessionPath, sessionsDirOption } from "../sessionStore.ts";

/** The command that does each action for a session. */
function actionCommand(action: SessionAction, session: ListedSession, assetName: string): string {
  switch (action) {
    case "resume":
      return `client chat --job ${session.jobId}`;
    case "close":
      return `client close --job ${session.jobId}`;
    case "timeout":
      return `client timeout --job ${session.jobId}`;
    case "withdrawRefund":
      return `client withdraw-refund --assets ${assetName}`;
  }
}

export const clientListCommand: Command = {
  path: ["client", "list"],
  summary: "list your sessions from chain events, with what each needs (resume, close, time out, withdraw a refund)",
  options: {
    ...connectionOptions,
    depositor: { type: "string", description: "whose sessions (default: the address of SESSION_JOBS_PRIVATE_KEY)" },
    all: { type: "boolean", description: "also list ended sessions that need nothing" },
    ...sessionsDirOption,
  },
  async run(common, values) {
    const depositor = typeof values.depositor === "string" ? parseAddressOption("depositor", values.depositor) : signingAccount(common).address;
    const connection = await connectDeployment(common, clientListCommand, values);
    const { deployment, publicClient } = connection;
    await requireContractCode(connection, "jobMarketplace");
    const { sessions, pendingRefunds, timestamp } = await common.logger.progress(`reading the sessions of ${depositor}`, () =>
      listSessions(publicClient, { marketplace: deployment.jobMarketplace, depositor, fromBlock: BigInt(deployment.deployedAtBlock) }),
    );
    const shown = values.all === true ? sessions : sessions.filter((session) => session.actions.length > 0);
    const tokens = [...new Set([...sessions.map((session) => session.token), ...pendingRefunds.map((refund) => refund.token)])];
    const displays = new Map(await Promise.all(tokens.map(async (token) => [token, await readAssetDisplay(publicClient, token, deployment)] as const)));
    const assetName = (token: (typeof tokens)[number]) => assetArgument(token, deployment);
    const rows = shown.map((session) => ({
      ...session,
      saved: existsSync(sessionPath(values, connection.chainId, session.jobId)),
      next: session.actions.map((action) => `session-jobs ${actionCommand(action, session, assetName(session.token))}`),
    }));

    common.logger.result({ depositor, chainId: connection.chainId, timestamp, sessions: rows, pendingRefunds });
    common.logger.info(
      `${sessions.length} session${sessions.length === 1 ? "" : "s"} of ${depositor} on chain ${connection.chainId}${values.all === true ? "" : `, ${rows.length} needing action (--all lists every one)`}`,
    );
    if (rows.length > 0)
      common.logger.info(
        table([
          ["job", "status", "deposit", "proven tokens", "ends by timeout from", "local key", "next"],
          ...rows.map((row) => [
            row.jobId.toString(),
            row.status === "active" && row.expired ? "active, expired" : row.status,
            formatAmount(row.depositAmount, displays.get(row.token)!),
            row.provenTokens.toString(),
            isoTime(row.expiresAt),
            row.saved ? "saved" : "-",
            row.actions.join(", ") || "-",
          ]),
        ]),
      );
    for (const row of rows) for (const next of row.next) common.logger.info(`  job ${row.jobId}: ${next}`);
    for (const refund of pendingRefunds)
      common.logger.info(
        `refund waiting: ${formatAmount(refund.amount, displays.get(refund.token)!)} (session-jobs client withdraw-refund --assets ${assetName(refund.token)})`,
      );
  },
};
