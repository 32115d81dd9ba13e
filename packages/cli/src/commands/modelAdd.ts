import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { isHex, type Hex } from "viem";
import { modelRegistryAbi } from "@session-jobs/contracts/abis";
import { requireString, type Command } from "../command.ts";
import { connectDeployment, connectionOptions, sendContractCall, signingWallet } from "../connection.ts";
import { CliError } from "../errors.ts";
import { modelIdOf } from "../modelId.ts";

/** The sha256 of a weights file, streamed (weights are gigabytes). */
async function hashFile(path: string): Promise<Hex> {
  const hash = createHash("sha256");
  try {
    for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  } catch (error) {
    throw new CliError(`--weights: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  return `0x${hash.digest("hex")}`;
}

export const modelAddCommand: Command = {
  path: ["model", "add"],
  summary: "approve a model in the ModelRegistry (owner key from SESSION_JOBS_PRIVATE_KEY)",
  options: {
    ...connectionOptions,
    repo: { type: "string", description: "model repository, e.g. TheBloke/Llama-2-7B-GGUF" },
    file: { type: "string", description: "weights file name in the repository, e.g. llama-2-7b.Q4_K_M.gguf" },
    sha256: { type: "string", description: "sha256 of the weights (32 bytes hex)" },
    weights: { type: "string", description: "path to the weights file, hashed instead of --sha256" },
  },
  async run(common, values) {
    const repo = requireString(modelAddCommand, values, "repo");
    const file = requireString(modelAddCommand, values, "file");
    if (typeof values.sha256 === "string" && typeof values.weights === "string") throw new CliError("give either --sha256 or --weights, not both");
    let sha256: Hex;
    if (typeof values.weights === "string") {
      const weights = values.weights;
      sha256 = await common.logger.progress(`hashing ${weights}`, () => hashFile(weights));
    } else {
      const given = requireString(modelAddCommand, values, "sha256");
      const hex = given.startsWith("0x") ? given : `0x${given}`;
      if (!isHex(hex) || hex.length !== 66) throw new CliError(`--sha256: "${given}" is not 32 bytes of hex`);
      sha256 = hex.toLowerCase() as Hex;
    }
    const connection = await connectDeployment(common, modelAddCommand, values);
    const wallet = signingWallet(common, connection);
    const receipt = await sendContractCall(common, connection, wallet, `adding ${repo}/${file}`, {
      address: connection.deployment.modelRegistry,
      abi: modelRegistryAbi,
      functionName: "addModel",
      args: [repo, file, sha256],
    });
    common.logger.result({ modelId: modelIdOf(repo, file), repo, file, sha256, transactionHash: receipt.transactionHash });
    common.logger.info(`model ${repo}/${file} approved (sha256 ${sha256}, transaction ${receipt.transactionHash})`);
    common.logger.info(`modelId ${modelIdOf(repo, file)}`);
  },
};
