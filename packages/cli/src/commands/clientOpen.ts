import { ContractRevertError, DepositBelowHostMinimumError, InsufficientDepositError, openSession } from "@session-jobs/sdk";
import { requireString, type Command } from "../command.ts";
import { parseAssetOption, readAssetDisplay } from "../assets.ts";
import { connectDeployment, connectionOptions, signingWallet } from "../connection.ts";
import { CliError, findCause } from "../errors.ts";
import { formatAmount, type AssetDisplay } from "../format.ts";
import { parseAddressOption, parseAmountOption, parseIntegerOption } from "../parse.ts";
import { keepEarlierSave, saveSession, sessionsDirOption } from "../sessionStore.ts";
import { modelOptions, parseModelOptions } from "./clientHosts.ts";

/** Too small a deposit, in the asset's units as typed (0.0002 ETH), not base units. */
function inAssetUnits(error: unknown, asset: AssetDisplay): unknown {
  if (error instanceof DepositBelowHostMinimumError)
    return new CliError(
      `this host's minimum deposit is ${formatAmount(error.minimum, asset)} (--deposit ${formatAmount(error.deposit, asset)})`,
      "raise --deposit, or pick another host (client pricing shows each host's minimum deposit)",
    );
  const revert = findCause(error, ContractRevertError);
  if (revert?.errorName === "ERC20InsufficientBalance") {
    const [, balance, needed] = revert.args as [unknown, bigint, bigint];
    return new CliError(
      `the deposit is ${formatAmount(needed, asset)} but this account holds ${formatAmount(balance, asset)}`,
      `on a development chain \`session-jobs dev mint\` gives TestUSDC; otherwise fund the account or lower --deposit`,
    );
  }
  if (!(error instanceof InsufficientDepositError) || error.minimum === undefined || error.deposit === undefined) return error;
  return new CliError(`the deposit must be at least ${formatAmount(error.minimum, asset)} (--deposit ${formatAmount(error.deposit, asset)})`);
}

export const clientOpenCommand: Command = {
  path: ["client", "open"],
  summary: "open a session with a host (one wallet transaction; key from SESSION_JOBS_PRIVATE_KEY) and save it",
  options: {
    ...connectionOptions,
    host: { type: "string", description: "the host's address" },
    deposit: { type: "string", description: "amount to escrow, in whole units (0.01 for 0.01 ETH)" },
    asset: { type: "string", description: "eth, usdc or a token address (default eth)" },
    price: { type: "string", description: "price per token in base units (default: the host's minimum, read first)" },
    ...modelOptions,
    "proof-interval": {
      type: "string",
      description: "tokens between checkpoint proofs, 100..the host's largest (client pricing shows it; default 1000, or the host's largest when smaller)",
    },
    "max-duration": { type: "string", description: "seconds until anyone may end the session by timeout (default 3600)" },
    approval: { type: "string", description: "for tokens: permit (default) or approve" },
    "host-url": { type: "string", description: "the host's API URL (default: the URL it registered)" },
    ...sessionsDirOption,
  },
  async run(common, values) {
    const host = parseAddressOption("host", requireString(clientOpenCommand, values, "host"));
    const depositText = requireString(clientOpenCommand, values, "deposit");
    const price = typeof values.price === "string" ? parseIntegerOption("price", values.price, { min: 1n }) : undefined;
    const proofInterval =
      typeof values["proof-interval"] === "string" ? parseIntegerOption("proof-interval", values["proof-interval"], { min: 100n, max: 1_000_000n }) : undefined;
    const maxDuration = typeof values["max-duration"] === "string" ? parseIntegerOption("max-duration", values["max-duration"], { min: 1n }) : undefined;
    const approval = values.approval ?? "permit";
    if (approval !== "permit" && approval !== "approve") throw new CliError(`--approval: "${String(approval)}" is neither permit nor approve`);
    const modelId = parseModelOptions(values);

    const connection = await connectDeployment(common, clientOpenCommand, values);
    const { deployment } = connection;
    const token = parseAssetOption("asset", typeof values.asset === "string" ? values.asset : "eth", deployment);
    const asset = await readAssetDisplay(connection.publicClient, token, deployment);
    const deposit = parseAmountOption("deposit", depositText, asset.decimals);
    const wallet = signingWallet(common, connection);

    const opened = await common.logger.progress(`opening a session with ${host}: deposit ${formatAmount(deposit, asset)}`, () =>
      openSession(wallet, {
        contracts: deployment,
        host,
        deposit,
        token,
        approval,
        pricePerToken: price,
        maxDuration,
        proofInterval,
        modelId,
        hostUrl: typeof values["host-url"] === "string" ? values["host-url"] : undefined,
      }).catch((error: unknown) => {
        throw inAssetUnits(error, asset);
      }),
    );
    const { session } = opened;
    keepEarlierSave(common, values, session.chainId, session.jobId);
    const path = saveSession(values, session);
    common.logger.result({
      jobId: session.jobId,
      transactionHash: opened.transactionHash,
      approvalTransactionHash: opened.approvalTransactionHash,
      host: session.host,
      hostUrl: session.hostUrl,
      token: session.token,
      deposit: session.deposit,
      pricePerToken: session.pricePerToken,
      proofInterval: session.proofInterval,
      model: session.model,
      savedAt: path,
    });
    common.logger.info(`session ${session.jobId} open (transaction ${opened.transactionHash})`);
    common.logger.info(
      `  price ${session.pricePerToken} base units/token, deposit ${formatAmount(session.deposit, asset)}, checkpoint every ${session.proofInterval} tokens`,
    );
    common.logger.info(`  host ${session.host} at ${session.hostUrl}${session.model ? `, model "${session.model}"` : ""}`);
    common.logger.info(`  saved with its session key to ${path} (mode 0600)`);
    common.logger.info(`next: session-jobs client chat --job ${session.jobId} --prompt "…"`);
  },
};
