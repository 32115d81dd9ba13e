import { readFileSync } from "node:fs";
import {
  createPublicClient,
  createWalletClient,
  getAddress,
  http,
  isAddress,
  isHex,
  webSocket,
  type Abi,
  type Account,
  type Address,
  type Chain,
  type Hash,
  type PublicClient,
  type TransactionReceipt,
  type Transport,
  type WalletClient,
} from "viem";
import { privateKeyToAccount } from "viem/accounts";
import type { SessionJobsDeployment } from "@session-jobs/contracts/deploy";
import { requireString, type Command, type OptionValues } from "./command.ts";
import type { Common } from "./common.ts";
import { CliError, noContractHint } from "./errors.ts";

/** The environment variable that holds the signing key; keys are never flags (shells keep history). */
export const privateKeyEnv = "SESSION_JOBS_PRIVATE_KEY";

/** `--rpc-url`, shared by every command that talks to a chain. */
export const rpcUrlOption = {
  "rpc-url": { type: "string", description: "JSON-RPC endpoint (http(s) or ws(s))", env: "SESSION_JOBS_RPC_URL" },
} as const satisfies Command["options"];

/** `--rpc-url` and `--deployment`, for commands that use deployed contracts. */
export const connectionOptions = {
  ...rpcUrlOption,
  deployment: { type: "string", description: "deployment JSON written by `session-jobs deploy`", env: "SESSION_JOBS_DEPLOYMENT" },
} as const satisfies Command["options"];

const deploymentAddressFields = ["modelRegistry", "nodeRegistry", "proofSystem", "hostEarnings", "jobMarketplace", "treasury", "owner"] as const;

/** Reads and validates a deployment file; every problem is one line naming the file. */
export function loadDeployment(path: string): SessionJobsDeployment {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, "utf8"));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new CliError(
      code ? `cannot read deployment file ${path} (${code})` : `deployment file ${path} is not JSON`,
      "write one with `session-jobs deploy --out <path>`",
    );
  }
  if (typeof parsed !== "object" || parsed === null) throw new CliError(`deployment file ${path} is not a JSON object`);
  const raw = parsed as Record<string, unknown>;
  if (typeof raw.chainId !== "number" || !Number.isSafeInteger(raw.chainId)) throw new CliError(`deployment file ${path}: chainId is missing or not a number`);
  const address = (field: string): Address => {
    const value = raw[field];
    if (typeof value !== "string" || !isAddress(value, { strict: false })) throw new CliError(`deployment file ${path}: ${field} is missing or not an address`);
    return getAddress(value);
  };
  const addresses = Object.fromEntries(deploymentAddressFields.map((field) => [field, address(field)])) as Pick<
    SessionJobsDeployment,
    (typeof deploymentAddressFields)[number]
  >;
  return {
    chainId: raw.chainId,
    ...addresses,
    usdc: raw.usdc === undefined || raw.usdc === null ? undefined : address("usdc"),
    deployedAtBlock: typeof raw.deployedAtBlock === "string" ? raw.deployedAtBlock : "0",
  };
}

/** A read connection: a public client whose chain id was checked against the RPC. */
export type ChainConnection = { rpcUrl: string; chainId: number; publicClient: PublicClient };

/** Connects to `--rpc-url`; an unreachable endpoint is a one-line error naming it. */
export function connectRpc(common: Common, command: Command, values: OptionValues): Promise<ChainConnection> {
  return connectToRpc(common, requireString(command, values, "rpc-url"));
}

export async function connectToRpc(common: Common, rpcUrl: string): Promise<ChainConnection> {
  if (!/^(https?|wss?):\/\/./.test(rpcUrl)) throw new CliError(`--rpc-url: "${rpcUrl}" is not an http(s) or ws(s) URL`);
  const transport: Transport = rpcUrl.startsWith("ws") ? webSocket(rpcUrl, { retryCount: 0 }) : http(rpcUrl, { retryCount: 0, timeout: 10_000 });
  const publicClient: PublicClient = createPublicClient({ transport, pollingInterval: 250 });
  const chainId = await common.logger.progress(`connecting to ${rpcUrl}`, () =>
    publicClient.getChainId().catch((cause: unknown) => {
      throw new CliError(
        `cannot reach an RPC at ${rpcUrl}`,
        common.debug ? String(cause) : "check --rpc-url (or SESSION_JOBS_RPC_URL) and that the node is running",
      );
    }),
  );
  common.chainId = chainId;
  return { rpcUrl, chainId, publicClient };
}

/** A connection to a deployment: the RPC must serve the deployment's chain. */
export type DeploymentConnection = ChainConnection & { deployment: SessionJobsDeployment };

export async function connectDeployment(common: Common, command: Command, values: OptionValues): Promise<DeploymentConnection> {
  const deployment = loadDeployment(requireString(command, values, "deployment"));
  const connection = await connectRpc(common, command, values);
  if (connection.chainId !== deployment.chainId)
    throw new CliError(`the deployment is for chain ${deployment.chainId}, but ${connection.rpcUrl} serves chain ${connection.chainId}`);
  return { ...connection, deployment };
}

/**
 * Fails with the same one line as a contract read that returned no data, for commands that only read
 * events (which find nothing, rather than fail, where no contract is).
 */
export async function requireContractCode(connection: DeploymentConnection, field: "jobMarketplace" | "nodeRegistry" | "hostEarnings"): Promise<void> {
  const address = connection.deployment[field];
  const code = await connection.publicClient.getCode({ address });
  if (code === undefined || code === "0x")
    throw new CliError(`no contract at ${address} on chain ${connection.chainId} (${field} has no code)`, noContractHint);
}

export type SigningWallet = WalletClient<Transport, Chain, Account>;

/** The account of `SESSION_JOBS_PRIVATE_KEY`. */
export function signingAccount(common: Common): Account {
  const key = common.env[privateKeyEnv];
  if (!key) throw new CliError(`missing ${privateKeyEnv}`, "the signing key is read from the environment only, never from a flag");
  const hex = key.startsWith("0x") ? key : `0x${key}`;
  if (!isHex(hex) || hex.length !== 66) throw new CliError(`${privateKeyEnv} is not a 32-byte hex private key`);
  return privateKeyToAccount(hex);
}

/** The wallet of `SESSION_JOBS_PRIVATE_KEY` on the connected chain. */
export function signingWallet(common: Common, connection: ChainConnection): SigningWallet {
  return walletFor(connection, signingAccount(common));
}

/** A wallet client for `account` on the connected chain (also used with a host config's account). */
export function walletFor(connection: ChainConnection, account: Account): SigningWallet {
  const chain = {
    id: connection.chainId,
    name: `chain ${connection.chainId}`,
    nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
    rpcUrls: { default: { http: [connection.rpcUrl] } },
  } as const;
  const transport: Transport = connection.rpcUrl.startsWith("ws") ? webSocket(connection.rpcUrl) : http(connection.rpcUrl);
  return createWalletClient({ account, chain, transport, pollingInterval: 250 });
}

/**
 * Simulates a contract call first (so a revert is decoded before anything is sent), sends it and
 * waits for its receipt, showing `label` while it waits.
 */
export async function sendContractCall(
  common: Common,
  connection: ChainConnection,
  wallet: SigningWallet,
  label: string,
  call: { address: Address; abi: Abi; functionName: string; args?: readonly unknown[]; value?: bigint },
): Promise<TransactionReceipt & { transactionHash: Hash }> {
  return common.logger.progress(label, async () => {
    const { request } = await connection.publicClient.simulateContract({ ...call, account: wallet.account } as Parameters<PublicClient["simulateContract"]>[0]);
    const hash = await wallet.writeContract(request as Parameters<SigningWallet["writeContract"]>[0]);
    const receipt = await connection.publicClient.waitForTransactionReceipt({ hash });
    if (receipt.status !== "success") throw new CliError(`${call.functionName} transaction ${hash} reverted`);
    return receipt;
  });
}
