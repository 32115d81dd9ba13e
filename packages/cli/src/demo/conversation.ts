import { getTransactionReceipt } from "viem/actions";
import type { Address } from "viem";
import { closeSession, openSession, streamChat, watchProofs, type ChatMessage, type CloseSessionReturnType, type Session } from "@session-jobs/sdk";
import type { Common } from "../common.ts";
import type { GasLedger } from "../gasLedger.ts";
import { formatAmount, type AssetDisplay } from "../format.ts";
import { demoKeys, walletFor, type LocalNetwork } from "./localNetwork.ts";

/** Prompts in the form the embedded model learned: a verse reference, or the start of a verse. */
export const demoPrompts = [
  "Genesis 1:1",
  "And God said",
  "Psalms 23:1",
  "Blessed are the",
  "John 3:16",
  "And the LORD spake unto Moses",
  "Proverbs 3:5",
  "For God so loved",
] as const;

export type ConversationParameters = {
  network: LocalNetwork;
  host: Address;
  token: Address;
  asset: AssetDisplay;
  deposit: bigint;
  proofInterval: bigint;
  prompts: readonly string[];
  maxTokens: number;
  ledger: GasLedger;
};

export type ConversationResult = { session: Session; settlement: CloseSessionReturnType };

/**
 * The user's side of the demo: open a session (one wallet signature), chat with streamed answers
 * while checkpoint proofs land on chain, then close and read the settlement.
 */
export async function runConversation(common: Common, parameters: ConversationParameters): Promise<ConversationResult> {
  const { network, ledger, asset } = parameters;
  const wallet = walletFor(network, demoKeys.user);
  const { logger } = common;

  const opened = await logger.progress(`opening a session: deposit ${formatAmount(parameters.deposit, asset)}`, () =>
    openSession(wallet, {
      contracts: network.deployment,
      host: parameters.host,
      deposit: parameters.deposit,
      token: parameters.token,
      proofInterval: parameters.proofInterval,
      modelId: network.modelId,
      maxDuration: 3600n,
    }),
  );
  const { session } = opened;
  if (opened.approvalTransactionHash) ledger.record({ label: "USDC.approve", hash: opened.approvalTransactionHash, payer: "user" });
  ledger.record({ label: "createSession", hash: opened.transactionHash, payer: "user" });
  logger.info(
    `session #${session.jobId}: price ${formatAmount(session.pricePerToken, asset)}/token (host minimum, read first), ` +
      `checkpoint every ${session.proofInterval} tokens, session key ${walletFor(network, session.sessionKey).account.address}`,
  );

  // Proofs land while an answer streams; their notices wait for the answer's end to print.
  let proofs = 0;
  const notices: Promise<string>[] = [];
  const printNotices = async () => {
    for (const line of await Promise.all(notices.splice(0))) logger.info(line);
  };
  const unwatch = watchProofs(network.publicClient, {
    marketplace: network.deployment.jobMarketplace,
    jobId: session.jobId,
    fromBlock: session.openedAtBlock,
    onProof: (proof) => {
      proofs += 1;
      const label = `checkpoint proof ${proofs}`;
      ledger.record({ label, hash: proof.transactionHash, payer: "host" });
      notices.push(
        getTransactionReceipt(network.publicClient, { hash: proof.transactionHash }).then(
          (receipt) => `    ⛓  ${label}: +${proof.tokens} tokens, verified=${proof.verified}, gas ${receipt.gasUsed} (${proof.transactionHash.slice(0, 10)}…)`,
        ),
      );
    },
  });

  try {
    for (const [index, prompt] of parameters.prompts.entries()) {
      const messages: ChatMessage[] = [{ role: "user", content: prompt }];
      logger.info(`\n[${index + 1}/${parameters.prompts.length}] user: ${prompt}`);
      logger.write("    model: ");
      // A tiny model reads best a little cooler than OpenAI's default of 1.
      const stream = streamChat(session, { messages, maxTokens: parameters.maxTokens, body: { temperature: 0.7 }, signal: common.signal });
      for await (const delta of stream) logger.write(delta);
      const result = await stream.result;
      logger.info(
        `\n    ${result.promptTokens} prompt + ${result.completionTokens} completion tokens; ` +
          `receipt signed for ${result.cumulativeTokens} tokens in total`,
      );
      await printNotices();
    }
    const settlement = await logger.progress("closing: the host proves the last receipt and settles", () => closeSession(wallet, { session }));
    ledger.record({
      label: settlement.closedBy === "host" ? "submitProofAndComplete (final proof + settle)" : "completeSessionJob",
      hash: settlement.transactionHash,
      payer: settlement.closedBy === "host" ? "host" : "user",
    });
    await printNotices();
    return { session, settlement };
  } finally {
    unwatch();
  }
}
