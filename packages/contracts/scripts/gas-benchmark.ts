/**
 * Prints gasUsed per Session Jobs operation, measured as real transactions on anvil, against the
 * issue's targets. Steady state: one ETH and one USDC session have already been settled, so the
 * treasury and host-earnings balances exist, as on any live deployment.
 *
 *   npm run gas -w packages/contracts
 */
import { keccak256, parseEther, stringToHex, type Hex, type TransactionReceipt } from "viem";
import { jobMarketplaceWithModelsAbi, testUsdcAbi } from "../generated/abis.ts";
import { permitTypes } from "../ts/eip712.ts";
import { startLocalSessionJobs } from "./lib/localSessionJobs.ts";

type Row = { operation: string; gas: bigint; target?: bigint };

const ethPrice = 2_000_000_000n; // 2 gwei per token
const ethDeposit = parseEther("0.01");
const usdcPrice = 2000n;
const usdcDeposit = 10_000_000n; // 10 USDC

const local = await startLocalSessionJobs();
const { deployment, usdc, modelId, send, signCheckpoint, publicClient, testClient } = local;
const { host, user, stranger } = local.wallets;
const marketplace = { address: deployment.jobMarketplace, abi: jobMarketplaceWithModelsAbi } as const;
const rows: Row[] = [];
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

try {
  // Warm-up: settle one session per asset.
  const warmEth = await createEth();
  await prove(warmEth.jobId, 1000n);
  await complete(warmEth.jobId);
  await approve(usdcDeposit);
  const warmUsdc = await createUsdc();
  await prove(warmUsdc.jobId, 1000n);
  await complete(warmUsdc.jobId);

  // Creation.
  const eth = await createEth();
  rows.push({ operation: "createSessionJob (ETH)", gas: eth.receipt.gasUsed, target: 130_000n });
  const approval = await approve(usdcDeposit);
  const token = await createUsdc();
  rows.push({ operation: "approve (USDC)", gas: approval.gasUsed });
  rows.push({ operation: "createSessionJobWithToken (USDC)", gas: token.receipt.gasUsed, target: 130_000n });
  rows.push({ operation: "approve + createSessionJobWithToken (USDC)", gas: approval.gasUsed + token.receipt.gasUsed });

  const deadline = BigInt(Math.floor(Date.now() / 1000) + 3600);
  const nonce = await publicClient.readContract({ address: usdc, abi: testUsdcAbi, functionName: "nonces", args: [user.account.address] });
  const permit = await user.account.signTypedData({
    domain: { name: "Test USD Coin", version: "1", chainId: local.anvil.chainId, verifyingContract: usdc },
    types: permitTypes,
    primaryType: "Permit",
    message: { owner: user.account.address, spender: deployment.jobMarketplace, value: usdcDeposit, nonce, deadline },
  });
  const r = `0x${permit.slice(2, 66)}` as Hex;
  const s = `0x${permit.slice(66, 130)}` as Hex;
  const v = Number.parseInt(permit.slice(130, 132), 16);
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
  const permitted = await send(user, { ...marketplace, functionName: "createSessionWithPermit", args: [params, deadline, v, r, s] });
  rows.push({ operation: "createSessionWithPermit (USDC, session key, model)", gas: permitted.gasUsed, target: 130_000n });

  // Checkpoints.
  rows.push({ operation: "submitProofOfWork, first checkpoint", gas: (await prove(eth.jobId, 1000n)).gasUsed, target: 40_000n });
  rows.push({ operation: "submitProofOfWork, next checkpoint", gas: (await prove(eth.jobId, 1000n)).gasUsed, target: 40_000n });

  const batchJobs: bigint[] = [];
  for (let i = 0; i < 10; i++) batchJobs.push((await createEth()).jobId);
  for (const label of ["first", "next"] as const) {
    const proofs: Hex[] = [];
    for (const jobId of batchJobs) proofs.push((await checkpoint(jobId, 1000n)).proof);
    const batch = await send(host, {
      ...marketplace,
      functionName: "submitProofsBatch",
      args: [batchJobs, proofs, batchJobs.map(() => 1000n)],
    });
    rows.push({ operation: `submitProofsBatch, 10 jobs, ${label} checkpoints: per job`, gas: batch.gasUsed / 10n, target: 25_000n });
  }

  // Endings.
  rows.push({ operation: "completeSessionJob (ETH)", gas: (await complete(eth.jobId)).gasUsed, target: 80_000n });
  await prove(token.jobId, 1000n);
  rows.push({ operation: "completeSessionJob (USDC)", gas: (await complete(token.jobId)).gasUsed, target: 80_000n });
  const closing = await createEth();
  rows.push({ operation: "submitProofAndComplete (ETH, host closes)", gas: (await proveAndComplete(closing.jobId, 2500n)).gasUsed });
  const idle = await createEth();
  await prove(idle.jobId, 1000n);
  await testClient.increaseTime({ seconds: 3600 });
  await testClient.mine({ blocks: 1 });
  const timeout = await send(stranger, { ...marketplace, functionName: "triggerSessionTimeout", args: [idle.jobId] });
  rows.push({ operation: "triggerSessionTimeout (ETH, anyone)", gas: timeout.gasUsed });

  // The seed's example session: create, 5 proofs every 1,000 tokens, complete.
  const seed = await createEth();
  let seedTotal = seed.receipt.gasUsed;
  for (let i = 0; i < 5; i++) seedTotal += (await prove(seed.jobId, 1000n)).gasUsed;
  seedTotal += (await complete(seed.jobId)).gasUsed;
  rows.push({ operation: "seed example: create + 5 proofs + complete (ETH)", gas: seedTotal, target: 400_000n });
  const atClose = await createEth();
  const atCloseTotal = atClose.receipt.gasUsed + (await proveAndComplete(atClose.jobId, 5000n)).gasUsed;
  rows.push({ operation: "seed example: create + proof at close (ETH)", gas: atCloseTotal, target: 220_000n });

  // The seed's USDC worked example: 1,000 + 1,000 + 500 tokens at 2,000 per token.
  await approve(usdcDeposit);
  const worked = await createUsdc();
  let workedTotal = worked.receipt.gasUsed;
  for (const tokens of [1000n, 1000n, 500n]) workedTotal += (await prove(worked.jobId, tokens)).gasUsed;
  workedTotal += (await complete(worked.jobId)).gasUsed;
  rows.push({ operation: "seed worked example: create + 3 proofs + complete (USDC)", gas: workedTotal });

} finally {
  await local.stop();
}

const width = Math.max(...rows.map((row) => row.operation.length));
console.log(`| ${"operation".padEnd(width)} | gasUsed | target  | |`);
console.log(`|${"-".repeat(width + 2)}|--------:|--------:|-|`);
for (const row of rows) {
  const target = row.target === undefined ? "" : `≤${row.target / 1000n}k`;
  const verdict = row.target === undefined ? "" : row.gas <= row.target ? "✓" : "✗";
  console.log(`| ${row.operation.padEnd(width)} | ${row.gas.toString().padStart(7)} | ${target.padStart(7)} |${verdict}|`);
}
