import { ConfigError, registerHost, updateConfigFile, type ConfigValue, type HostConfig } from "@session-jobs/host";
import type { Command, OptionValues } from "../command.ts";
import type { Common } from "../common.ts";
import { CliError } from "../errors.ts";
import { connectHostChain, hostConfigOptions, hostConfigPath, loadHostConfigFromOptions } from "../hostConfig.ts";

export const hostRegisterCommand: Command = {
  path: ["host", "register"],
  summary: "register the host in the NodeRegistry, or bring its registration in line with the config (flags given are saved to it)",
  options: {
    ...hostConfigOptions,
    "public-url": { type: "string", description: "URL clients reach this host at (overrides the config)", env: "SESSION_JOBS_HOST_PUBLIC_URL" },
    models: { type: "string", description: "comma-separated model ids served (overrides the config)" },
    price: { type: "string", description: "minimum USDC base units per token, 100..100000 (overrides the config)" },
    "price-native": { type: "string", description: "minimum wei per token for ETH sessions (overrides the config)" },
  },
  async run(common, values) {
    const config = loadHostConfigFromOptions(common, values, {
      ...(typeof values["public-url"] === "string" && { publicUrl: values["public-url"] }),
      ...(typeof values.models === "string" && { models: values.models.split(",").map((model) => model.trim()) }),
      ...((typeof values.price === "string" || typeof values["price-native"] === "string") && {
        pricing: {
          ...(typeof values.price === "string" && { minPricePerToken: values.price }),
          ...(typeof values["price-native"] === "string" && { minPricePerTokenNative: values["price-native"] }),
        },
      }),
    });
    if (!config.publicUrl) throw new CliError("missing the host's public URL", "give --public-url (or publicUrl in the config)");
    // One quick look at the RPC first, as every chain command does: a wrong URL is one line naming it.
    await connectHostChain(common, config);
    const { action, transactions } = await common.logger.progress(`registering ${config.account.address} at ${config.publicUrl}`, () =>
      registerHost({ config, onTransaction: (step, hash) => common.logger.info(`  ${step.padEnd(24)} ${hash}`) }),
    );
    saveFlags(common, values, config);
    common.logger.result({ host: config.account.address, action, transactions, publicUrl: config.publicUrl, models: config.models, pricing: config.pricing });
    common.logger.info(
      `host ${config.account.address} ${action}${transactions.length === 0 ? " (already matches the config)" : ""}: ` +
        `${config.models.length} model${config.models.length === 1 ? "" : "s"}, minimum ${config.pricing.minPricePerToken} USDC units/token` +
        (config.pricing.minPricePerTokenNative === undefined ? "" : `, ${config.pricing.minPricePerTokenNative} wei/token`),
    );
  },
};

/**
 * Writes the registration flags into the config file, so that `host start` serves what was
 * registered and the next `host register` does not undo them.
 */
function saveFlags(common: Common, values: OptionValues, config: HostConfig): void {
  const changes: Record<string, ConfigValue> = {
    ...(typeof values["public-url"] === "string" && { publicUrl: config.publicUrl! }),
    ...(typeof values.models === "string" && { models: config.models }),
    ...(typeof values.price === "string" && { "pricing.minPricePerToken": config.pricing.minPricePerToken }),
    ...(typeof values["price-native"] === "string" &&
      config.pricing.minPricePerTokenNative !== undefined && { "pricing.minPricePerTokenNative": config.pricing.minPricePerTokenNative }),
  };
  if (Object.keys(changes).length === 0) return;
  const path = hostConfigPath(values);
  if (path === undefined) {
    common.logger.warn(
      `no config file to save ${Object.keys(changes).join(", ")} in: give the same flags to later commands, or use \`session-jobs host init\``,
    );
    return;
  }
  try {
    updateConfigFile(path, changes);
    common.logger.info(`saved ${Object.keys(changes).join(", ")} to ${path}`);
  } catch (error) {
    common.logger.warn(
      `registered, but could not save ${Object.keys(changes).join(", ")} to ${path}: ${error instanceof ConfigError ? error.issues.join("; ") : (error as Error).message}`,
    );
  }
}
