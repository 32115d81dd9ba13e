import { getBlock } from "viem/actions";
import { getSession, triggerSessionTimeout } from "@session-jobs/sdk";
import { requireString, type Command } from "../command.ts";
import { readAssetDisplay } from "../assets.ts";
import { connectDeployment, connectionOptions, signingWallet } from "../connection.ts";
import { CliError } from "../errors.ts";
import { isoTime, settlementRows, table } from "../format.ts";
import { parseIntegerOption } from "../parse.ts";

export const clientTimeoutCommand: Command = {
  path: ["client", "timeout"],
  summary: "end a session whose max duration has passed, without the host: proven tokens are paid, the rest refunded",
  options: {
    ...connectionOptions,
    job: { type: "string", description: "the session's job id" },
  },
  async run(common, values) {
    const jobId = parseIntegerOption("job", requireString(clientTimeoutCommand, values, "job"));
    const connection = await connectDeployment(common, clientTimeoutCommand, values);
    const { deployment, publicClient } = connection;
    const wallet = signingWallet(common, connection);
    // Checked here rather than left to the contract, so the answer can say when a timeout becomes possible.
    const [session, block] = await Promise.all([getSession(publicClient, { marketplace: deployment.jobMarketplace, jobId }), getBlock(publicClient)]);
    if (session.status === "none") throw new CliError(`no session ${jobId} on chain ${connection.chainId}`);
    if (session.status !== "active")
      throw new CliError(`session ${jobId} has already ended (${session.status})`, `see: session-jobs client status --job ${jobId}`);
    const expiresAt = session.createdAt + session.maxDuration;
    if (block.timestamp < expiresAt)
      throw new CliError(
        `session ${jobId} may be ended by timeout from ${isoTime(expiresAt)} (${expiresAt - block.timestamp} s from now)`,
        `to end it now: session-jobs client close --job ${jobId}`,
      );
    const asset = await readAssetDisplay(publicClient, session.token, deployment);
    const settlement = await common.logger.progress(`ending session ${jobId} by timeout`, () =>
      triggerSessionTimeout(wallet, { marketplace: deployment.jobMarketplace, jobId }),
    );
    common.logger.result(settlement);
    common.logger.info(`session ${jobId} timed out and settled in transaction ${settlement.transactionHash}`);
    common.logger.info(table(settlementRows(settlement, asset)));
  },
};
