/**
 * Prints gasUsed per Session Jobs operation, measured as real transactions on anvil, against the
 * targets, first-time and steady state side by side. The same scenario runs twice on one chain:
 * "first time" on a fresh deployment (no fee, earnings or token balance exists yet), "steady" once
 * the first pass has settled sessions in every asset, as on any live deployment.
 *
 *   npm run gas -w packages/contracts
 */
import { keccak256, parseEther, stringToHex, zeroAddress, type Hex, type TransactionReceipt } from "viem";
import { hostEarningsAbi, jobMarketplaceWithModelsAbi, testUsdcAbi } from "../generated/abis.ts";
import { permitTypes } from "../ts/eip712.ts";
import { startLocalSessionJobs } from "./lib/localSessionJobs.ts";

/** Targets (tx gasUsed) for the operations that have one. */
const targets: Record<string, bigint> = {
  "createSessionJob (ETH)": 130_000n,
  "createSession (USDC, session key, model) after approve: the SDK's path": 150_000n,
  "createSession (ETH, session key, model): the SDK's ETH path": 150_000n,
  "submitProofOfWork, first checkpoint of a session": 45_000n,
  "submitProofOfWork, next checkpoint": 40_000n,
  "submitProofsBatch, 10 jobs, first checkpoints: per job": 22_000n,
  "submitProofsBatch, 10 jobs, next checkpoints: per job": 22_000n,
  "completeSessionJob (ETH)": 70_000n,
  "completeSessionJob (ETH) right after host and treasury withdrew everything": 70_000n,
  "seed example: create + 5 proofs + complete (ETH)": 370_000n,
  "seed example: create + proof at close (ETH)": 200_000n,
};

const ethPrice = 2_000_000_000n; // 2 gwei per token
const ethDeposit = parseEther("0.01");
const usdcPrice = 2000n;
const usdcDeposit = 10_000_000n; // 10 USDC

const local = await startLocalSessionJobs();
const { deployment, usdc, modelId, send, signCheckpoint, publicClient, testClient } = local;
const { host, user, stranger } = local.wallets;
const marketplace = { address: deployment.jobMarketplace, abi: jobMarketplaceWithModelsAbi } as const;
let rows = new Map<string, bigint>();
const record = (operation: string, gas: bigint) => rows.set(operation, gas);
const sessionKey = local.wallets.deployer.account; // any key other than the host's

const transcript = (jobId: bigint, tokens: bigint): Hex => keccak256(stringToHex(`${jobId}:${tokens}`));
const proven = new Map<bigint, bigint>();

async function createEth(): Promise<{ jobId: bigint; receipt: TransactionReceipt }> {
  const jobId = await local.nextJobId();
  const receipt = await send(user, {
    ...marketplace,
    functionName: "createSessionJob",
    args: [host.account.address, ethPrice, 3600n, 1000n],
    value: ethDeposit,
  });
  return { jobId, receipt };
}

async function checkpoint(jobId: bigint, tokens: bigint, signer = user.account): Promise<{ proof: Hex; cumulative: bigint }> {
  const cumulative = (proven.get(jobId) ?? 0n) + tokens;
  proven.set(jobId, cumulative);
  return { proof: await signCheckpoint(signer, jobId, cumulative, transcript(jobId, cumulative)), cumulative };
}

async function prove(jobId: bigint, tokens: bigint, signer = user.account): Promise<TransactionReceipt> {
  const { proof } = await checkpoint(jobId, tokens, signer);
  return send(host, { ...marketplace, functionName: "submitProofOfWork", args: [jobId, proof, tokens] });
}

async function complete(jobId: bigint): Promise<TransactionReceipt> {
  return send(user, { ...marketplace, functionName: "completeSessionJob", args: [jobId] });
}

async function proveAndComplete(jobId: bigint, tokens: bigint): Promise<TransactionReceipt> {
  const { proof } = await checkpoint(jobId, tokens);
  return send(host, { ...marketplace, functionName: "submitProofAndComplete", args: [jobId, proof, tokens] });
}

async function approve(amount: bigint): Promise<TransactionReceipt> {
  return send(user, { address: usdc, abi: testUsdcAbi, functionName: "approve", args: [deployment.jobMarketplace, amount] });
}

async function createUsdc(): Promise<{ jobId: bigint; receipt: TransactionReceipt }> {
  const jobId = await local.nextJobId();
  const receipt = await send(user, {
    ...marketplace,
    functionName: "createSessionJobWithToken",
    args: [host.account.address, usdc, usdcDeposit, usdcPrice, 3600n, 1000n],
  });
  return { jobId, receipt };
}

async function measure(): Promise<Map<string, bigint>> {
  rows = new Map();
  // Creation.
  const eth = await createEth();
  record("createSessionJob (ETH)", eth.receipt.gasUsed);
  const approval = await approve(usdcDeposit);
  const token = await createUsdc();
  record("approve (USDC)", approval.gasUsed);
  record("createSessionJobWithToken (USDC)", token.receipt.gasUsed);

  const params = {
    host: host.account.address,
    token: usdc,
    deposit: usdcDeposit,
    pricePerToken: usdcPrice,
    maxDuration: 3600n,
    proofInterval: 1000n,
    modelId,
    signer: sessionKey.address,
  };
  await approve(usdcDeposit);
  const sdkPath = await send(user, { ...marketplace, functionName: "createSession", args: [params] });
  record("createSession (USDC, session key, model) after approve: the SDK's path", sdkPath.gasUsed);

  const deadline = BigInt(Math.floor(Date.now() / 1000) + 3600);
  const nonce = await publicClient.readContract({ address: usdc, abi: testUsdcAbi, functionName: "nonces", args: [user.account.address] });
  const permit = await user.account.signTypedData({
    domain: { name: "Test USD Coin", version: "1", chainId: local.anvil.chainId, verifyingContract: usdc },
    types: permitTypes,
    primaryType: "Permit",
    message: { owner: user.account.address, spender: deployment.jobMarketplace, value: usdcDeposit, nonce, deadline },
  });
  const r: Hex = `0x${permit.slice(2, 66)}`;
  const s: Hex = `0x${permit.slice(66, 130)}`;
  const v = Number.parseInt(permit.slice(130, 132), 16);
  const permitted = await send(user, { ...marketplace, functionName: "createSessionWithPermit", args: [params, deadline, v, r, s] });
  record("createSessionWithPermit (USDC, session key, model)", permitted.gasUsed);
  const ethParams = { ...params, token: zeroAddress, deposit: ethDeposit, pricePerToken: ethPrice };
  const ethSdkPath = await send(user, { ...marketplace, functionName: "createSession", args: [ethParams], value: ethDeposit });
  record("createSession (ETH, session key, model): the SDK's ETH path", ethSdkPath.gasUsed);

  // Checkpoints.
  record("submitProofOfWork, first checkpoint of a session", (await prove(eth.jobId, 1000n)).gasUsed);
  record("submitProofOfWork, next checkpoint", (await prove(eth.jobId, 1000n)).gasUsed);

  const batchJobs: bigint[] = [];
  for (let i = 0; i < 10; i++) batchJobs.push((await createEth()).jobId);
  for (const label of ["first", "next"] as const) {
    const proofs: Hex[] = [];
    for (const jobId of batchJobs) proofs.push((await checkpoint(jobId, 1000n)).proof);
    const batch = await send(host, { ...marketplace, functionName: "submitProofsBatch", args: [batchJobs, proofs, batchJobs.map(() => 1000n)] });
    record(`submitProofsBatch, 10 jobs, ${label} checkpoints: per job`, batch.gasUsed / 10n);
  }

  // Endings.
  record("completeSessionJob (ETH)", (await complete(eth.jobId)).gasUsed);
  await prove(token.jobId, 1000n);
  record("completeSessionJob (USDC)", (await complete(token.jobId)).gasUsed);
  const afterWithdrawals = await createEth();
  await prove(afterWithdrawals.jobId, 1000n);
  await send(host, { address: deployment.hostEarnings, abi: hostEarningsAbi, functionName: "withdrawAll", args: [zeroAddress] });
  await send(local.wallets.deployer, { ...marketplace, functionName: "withdrawTreasuryFees", args: [[zeroAddress]] });
  record("completeSessionJob (ETH) right after host and treasury withdrew everything", (await complete(afterWithdrawals.jobId)).gasUsed);
  const closing = await createEth();
  record("submitProofAndComplete (ETH, host closes)", (await proveAndComplete(closing.jobId, 2500n)).gasUsed);
  const idle = await createEth();
  await prove(idle.jobId, 1000n);
  await testClient.increaseTime({ seconds: 3600 });
  await testClient.mine({ blocks: 1 });
  const timeout = await send(stranger, { ...marketplace, functionName: "triggerSessionTimeout", args: [idle.jobId] });
  record("triggerSessionTimeout (ETH, anyone)", timeout.gasUsed);

  // The seed's example session: create, 5 proofs every 1,000 tokens, complete.
  const seed = await createEth();
  let seedTotal = seed.receipt.gasUsed;
  for (let i = 0; i < 5; i++) seedTotal += (await prove(seed.jobId, 1000n)).gasUsed;
  seedTotal += (await complete(seed.jobId)).gasUsed;
  record("seed example: create + 5 proofs + complete (ETH)", seedTotal);
  const atClose = await createEth();
  record("seed example: create + proof at close (ETH)", atClose.receipt.gasUsed + (await proveAndComplete(atClose.jobId, 5000n)).gasUsed);

  // The seed's USDC worked example: 1,000 + 1,000 + 500 tokens at 2,000 per token.
  await approve(usdcDeposit);
  const worked = await createUsdc();
  let workedTotal = worked.receipt.gasUsed;
  for (const tokens of [1000n, 1000n, 500n]) workedTotal += (await prove(worked.jobId, tokens)).gasUsed;
  workedTotal += (await complete(worked.jobId)).gasUsed;
  record("seed worked example: create + 3 proofs + complete (USDC)", workedTotal);
  return rows;
}

let first: Map<string, bigint>;
let steady: Map<string, bigint>;
try {
  first = await measure();
  steady = await measure();
} finally {
  await local.stop();
}

const width = Math.max(...[...steady.keys()].map((operation) => operation.length));
const cell = (gas: bigint | undefined) => (gas === undefined ? "" : gas.toString()).padStart(10);
console.log(`| ${"operation".padEnd(width)} | first time |     steady |  target | |`);
console.log(`|${"-".repeat(width + 2)}|-----------:|-----------:|--------:|-|`);
for (const [operation, gas] of steady) {
  const target = targets[operation];
  const firstGas = first.get(operation);
  // Targets are for the steady state; the first-time column shows the one-off cost of the first
  // balance of its kind (a host's first earnings, the marketplace's first token balance).
  const verdict = target === undefined ? "" : gas <= target ? "✓" : "✗";
  const targetText = target === undefined ? "" : `≤${target / 1000n}k`;
  console.log(`| ${operation.padEnd(width)} | ${cell(firstGas)} | ${cell(gas)} | ${targetText.padStart(7)} |${verdict}|`);
}
