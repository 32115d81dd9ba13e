import { existsSync } from "node:fs";
import { zeroHash, type Hex, type PublicClient } from "viem";
import { getContractEvents } from "viem/actions";
import { jobMarketplaceWithModelsAbi } from "@session-jobs/contracts/abis";
import { getSession } from "@session-jobs/sdk";
import type { Command } from "../command.ts";
import { readAssetDisplay } from "../assets.ts";
import { connectDeployment, connectionOptions } from "../connection.ts";
import { formatAmount, table } from "../format.ts";
import { parseIntegerOption } from "../parse.ts";
import { loadSession, savedSessionOptions, sessionPath } from "../sessionStore.ts";
import { requireString } from "../command.ts";
import { CliError } from "../errors.ts";

/**
 * The session's model: the chain stores it only when the model has a verifier plug-in, and the
 * `SessionJobCreated` event records it for every session. Undefined when the event cannot be read
 * (an RPC that limits the log range).
 */
async function sessionModel(publicClient: PublicClient, marketplace: Hex, jobId: bigint, stored: Hex, fromBlock: bigint): Promise<Hex | undefined> {
  if (stored !== zeroHash) return stored;
  const created = await getContractEvents(publicClient, {
    address: marketplace,
    abi: jobMarketplaceWithModelsAbi,
    eventName: "SessionJobCreated",
    args: { jobId },
    fromBlock,
    strict: true,
  }).catch(() => []);
  return created[0]?.args.modelId;
}

/** The model row: the zero id is a session opened without a model, which any model the host serves may answer. */
export function describeSessionModel(model: Hex | undefined): string {
  if (model === undefined) return "(not stored on chain; its SessionJobCreated event could not be read)";
  return model === zeroHash ? "none (opened without a model: whatever the host serves)" : model;
}

export const clientStatusCommand: Command = {
  path: ["client", "status"],
  summary: "show a session's state on chain and, when saved here, what the client signed",
  options: { ...connectionOptions, ...savedSessionOptions },
  async run(common, values) {
    const jobId = parseIntegerOption("job", requireString(clientStatusCommand, values, "job"));
    const connection = await connectDeployment(common, clientStatusCommand, values);
    const { deployment } = connection;
    const onChain = await getSession(connection.publicClient, { marketplace: deployment.jobMarketplace, jobId });
    if (onChain.status === "none") throw new CliError(`no session ${jobId} on chain ${connection.chainId}`, "`session-jobs client list` shows your sessions");
    const asset = await readAssetDisplay(connection.publicClient, onChain.token, deployment);
    const model = await sessionModel(connection.publicClient, deployment.jobMarketplace, jobId, onChain.modelId, BigInt(deployment.deployedAtBlock));
    const rows: string[][] = [
      ["status", onChain.status],
      ["depositor", onChain.depositor],
      ["host", onChain.host],
      ["model", describeSessionModel(model)],
      ["deposit", formatAmount(onChain.depositAmount, asset)],
      ["price per token", `${onChain.pricePerToken} base units`],
      ["tokens proven", `${onChain.provenTokens} of at most ${onChain.maxTokens}`],
      ["checkpoint interval", onChain.checkpointInterval.toString()],
    ];
    const saved = existsSync(sessionPath(values, connection.chainId, jobId)) ? loadSession(clientStatusCommand, values, connection.chainId) : undefined;
    common.logger.result({
      ...onChain,
      modelId: model ?? onChain.modelId,
      local: saved && {
        path: saved.path,
        signedTokens: saved.session.cumulativeTokens,
        sequence: saved.session.sequence,
        hostUrl: saved.session.hostUrl,
        resync: saved.session.resync === true,
        dispute: saved.session.dispute,
      },
    });
    if (saved) {
      const { session, path } = saved;
      rows.push(
        ["tokens signed for (local)", session.cumulativeTokens.toString()],
        ["requests sent (local)", session.sequence.toString()],
        ["newest receipt delivered", session.receipt ? String(session.receipt.delivered) : "no receipt yet"],
        ["host url (local)", session.hostUrl],
        ["saved at", path],
      );
      if (session.resync) rows.push(["last answer", "broke off: the next `client chat` recovers it from the host and signs for it"]);
      if (session.dispute) rows.push(["dispute", session.dispute]);
    }
    common.logger.info(`session ${jobId} on chain ${connection.chainId}`);
    common.logger.info(table(rows));
  },
};
