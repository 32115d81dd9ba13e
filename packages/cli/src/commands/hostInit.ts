import { existsSync, writeFileSync } from "node:fs";
import { dirname, relative, resolve } from "node:path";
import { isHex } from "viem";
import { backendPresets, hostConfigTemplate, type BackendPreset } from "@session-jobs/host";
import { embeddedModelInfo } from "@session-jobs/inference";
import type { Command } from "../command.ts";
import { connectionOptions } from "../connection.ts";
import { CliError } from "../errors.ts";
import { defaultHostConfigPath } from "../hostConfig.ts";
import { modelIdOf } from "../modelId.ts";
import { parseIntegerOption } from "../parse.ts";

const presetNames = Object.keys(backendPresets) as BackendPreset[];

export const hostInitCommand: Command = {
  path: ["host", "init"],
  summary: "write a complete, commented host.toml for a backend preset (then: host register, host start)",
  options: {
    ...connectionOptions,
    preset: { type: "string", description: `inference backend: ${presetNames.join(", ")} (default embedded)` },
    out: { type: "string", description: `config file to write (default ${defaultHostConfigPath})` },
    force: { type: "boolean", description: "overwrite an existing file" },
    "public-url": { type: "string", description: "URL clients reach this host at (default http://127.0.0.1:<port>)", env: "SESSION_JOBS_HOST_PUBLIC_URL" },
    port: { type: "string", description: "port the node listens on (default 8080)" },
    price: { type: "string", description: "minimum USDC base units per token, 100..100000 (default 2000)" },
    "price-native": { type: "string", description: "minimum wei per token for ETH sessions (default: ETH sessions refused)" },
    "model-id": { type: "string", description: "on-chain model id(s) served, comma-separated (`model add` prints them; default for embedded: its id)" },
    "backend-url": { type: "string", description: "the backend server's OpenAI-compatible base URL, …/v1 (default per preset)" },
    "backend-model": { type: "string", description: "the model name the backend server serves (required but for embedded)" },
  },
  async run(common, values) {
    const preset = (typeof values.preset === "string" ? values.preset : "embedded") as BackendPreset;
    if (!presetNames.includes(preset)) throw new CliError(`--preset: "${preset}" is not one of ${presetNames.join(", ")}`);
    const out = resolve(typeof values.out === "string" ? values.out : defaultHostConfigPath);
    if (existsSync(out) && values.force !== true) throw new CliError(`${out} exists`, "give --force to overwrite it, or --out another file");

    const port = typeof values.port === "string" ? Number(parseIntegerOption("port", values.port, { max: 65535n })) : 8080;
    const minPricePerToken = parseIntegerOption("price", typeof values.price === "string" ? values.price : "2000", { min: 100n, max: 100_000n });
    const minPricePerTokenNative =
      typeof values["price-native"] === "string" ? parseIntegerOption("price-native", values["price-native"], { min: 1n }) : undefined;
    const publicUrl = typeof values["public-url"] === "string" ? values["public-url"] : `http://127.0.0.1:${port}`;
    if (!/^https?:\/\/./.test(publicUrl)) throw new CliError(`--public-url: "${publicUrl}" is not an http(s) URL`);

    const models =
      typeof values["model-id"] === "string"
        ? values["model-id"].split(",").map((id) => id.trim())
        : preset === "embedded"
          ? [modelIdOf(embeddedModelInfo.repo, embeddedModelInfo.fileName)]
          : [];
    if (models.length === 0)
      throw new CliError(`--model-id: required for --preset ${preset}`, "approve the model with `session-jobs model add` and give the modelId it prints");
    for (const id of models) if (!isHex(id) || id.length !== 66) throw new CliError(`--model-id: "${id}" is not a bytes32 model id`);

    const backendUrl = typeof values["backend-url"] === "string" ? values["backend-url"] : backendPresets[preset].url;
    const backendModel = typeof values["backend-model"] === "string" ? values["backend-model"] : undefined;
    if (preset !== "embedded") {
      if (!backendUrl || !/^https?:\/\/./.test(backendUrl)) throw new CliError(`--backend-url: required for --preset ${preset}, an http(s) URL ending in /v1`);
      if (!backendModel) throw new CliError(`--backend-model: required for --preset ${preset}`, "the model name the server serves, as its /v1/models lists it");
    }

    // Paths in the file are relative to the file; the flag's path is relative to the current folder.
    const deployment = typeof values.deployment === "string" ? values.deployment : "deployment.json";
    const deployments = relative(dirname(out), resolve(deployment)) || deployment;
    const rpcUrl = typeof values["rpc-url"] === "string" ? values["rpc-url"] : "http://127.0.0.1:8545";

    const text = hostConfigTemplate({
      preset,
      rpcUrl,
      deployments,
      models,
      publicUrl,
      minPricePerToken,
      minPricePerTokenNative,
      backendUrl,
      backendModel,
      port,
    });
    try {
      writeFileSync(out, text, { flag: values.force === true ? "w" : "wx" });
    } catch (error) {
      throw new CliError(`cannot write ${out} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
    }
    common.logger.result({ path: out, preset, models, publicUrl, minPricePerToken, minPricePerTokenNative });
    common.logger.info(
      `wrote ${out} (${preset} backend, ${models.length} model${models.length === 1 ? "" : "s"}, minimum ${minPricePerToken} USDC units/token)`,
    );
    const keySet = common.env.SESSION_JOBS_HOST_PRIVATE_KEY !== undefined && common.env.SESSION_JOBS_HOST_PRIVATE_KEY !== "";
    common.logger.info(
      `next: ${keySet ? "" : "set SESSION_JOBS_HOST_PRIVATE_KEY (or a [keystore]), then "}\`session-jobs host register\` and \`session-jobs host start\``,
    );
  },
};
