import { isHex, type Hex } from "viem";
import { getHostsForModel } from "@session-jobs/sdk";
import type { Command, OptionValues } from "../command.ts";
import { parseAssetOption } from "../assets.ts";
import { connectDeployment, connectionOptions } from "../connection.ts";
import { CliError, UsageError } from "../errors.ts";
import { table } from "../format.ts";
import { modelIdOf } from "../modelId.ts";

/** `--model-id`, or `--repo` and `--file` (the id is keccak256 of "repo/file"). */
export const modelOptions = {
  "model-id": { type: "string", description: "on-chain model id (bytes32 hex)" },
  repo: { type: "string", description: "model repository, with --file, instead of --model-id" },
  file: { type: "string", description: "weights file name, with --repo" },
} as const satisfies Command["options"];

export function parseModelOptions(values: OptionValues): Hex | undefined {
  if (typeof values["model-id"] === "string") {
    const id = values["model-id"];
    if (!isHex(id) || id.length !== 66) throw new CliError(`--model-id: "${id}" is not a bytes32 model id (0x followed by 64 hex digits)`);
    return id;
  }
  if (typeof values.repo === "string" || typeof values.file === "string") {
    if (typeof values.repo !== "string" || typeof values.file !== "string")
      throw new UsageError("--repo and --file go together", `see: session-jobs client hosts --help`);
    return modelIdOf(values.repo, values.file);
  }
  return undefined;
}

export const clientHostsCommand: Command = {
  path: ["client", "hosts"],
  summary: "list the active hosts that serve a model, cheapest first",
  options: { ...connectionOptions, ...modelOptions, asset: { type: "string", description: "sort by the minimum for eth, usdc or a token (default eth)" } },
  async run(common, values) {
    const modelId = parseModelOptions(values);
    if (!modelId) throw new UsageError("missing --model-id (or --repo and --file)", `see: session-jobs client hosts --help`);
    const connection = await connectDeployment(common, clientHostsCommand, values);
    const { deployment } = connection;
    const sortBy = parseAssetOption("asset", typeof values.asset === "string" ? values.asset : "eth", deployment);
    const hosts = await getHostsForModel(connection.publicClient, { nodeRegistry: deployment.nodeRegistry, modelId, sortByPriceFor: sortBy });
    common.logger.result({ modelId, hosts });
    if (hosts.length === 0) {
      common.logger.info(`no active host serves model ${modelId}`);
      return;
    }
    common.logger.info(`${hosts.length} ${hosts.length === 1 ? "host serves" : "hosts serve"} model ${modelId}`);
    common.logger.info(
      table([
        ["host", "url", "min USDC units/token", "min wei/token"],
        ...hosts.map((host) => [host.address, host.apiUrl, host.minPricePerToken.toString(), host.minPricePerTokenNative.toString()]),
      ]),
    );
  },
};
