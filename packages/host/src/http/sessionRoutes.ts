import type { IncomingMessage, ServerResponse } from "node:http";
import { encodeRecordedExchange, sessionEndpoints, type SignedEndpoint } from "@session-jobs/protocol";
import type { Common } from "../common.ts";
import { HostError } from "../errors.ts";
import { parseJsonBody, readBody, sendJson, sendJsonWithArray, watchClient } from "./httpIo.ts";
import type { ProofSubmitter } from "../chain/proofSubmitter.ts";
import { parseSessionHeaders, type SessionProtocol } from "../session/sessionProtocol.ts";

/** `POST /v1/session/receipt`, `POST /v1/session/close`, `POST /v1/session/sync` and `GET /v1/session/:jobId`. */
export function createSessionRoutes(parameters: {
  common: Common;
  protocol: SessionProtocol;
  submitter: Pick<ProofSubmitter, "settle">;
  maxBodyBytes: number;
  /** How long a sync answer waits for its client to take more of it before the connection is cut. */
  writeStallTimeoutMs: number;
}) {
  const { common, protocol, submitter, maxBodyBytes, writeStallTimeoutMs } = parameters;

  /** A signed request whose body is `{ "jobId": … }` for the job its headers name. */
  async function authenticateJobRequest(request: IncomingMessage, endpoint: SignedEndpoint) {
    const raw = await readBody(request, maxBodyBytes);
    const body = parseJsonBody(request, raw);
    const signed = parseSessionHeaders(request.headers, endpoint, raw);
    if (String(body.jobId) !== signed.jobId.toString()) throw new HostError("invalid_request", "body jobId differs from X-Session-Job-Id");
    return protocol.authenticate(signed);
  }

  return {
    /** Verifies a receipt against the host's records and stores it before answering. */
    async receipt(request: IncomingMessage, response: ServerResponse): Promise<void> {
      const body = parseJsonBody(request, await readBody(request, maxBodyBytes));
      sendJson(response, 200, await protocol.acceptReceipt(body));
    },

    /** Settles a session on chain at its signer's request and answers with the transaction hash. */
    async close(request: IncomingMessage, response: ServerResponse): Promise<void> {
      const authenticated = await authenticateJobRequest(request, sessionEndpoints.close);
      const { jobId } = authenticated;
      const turn = await protocol.beginClose(authenticated);
      try {
        // Settled only while the close's turn holds: lost with the lock connection, another process may serve the session.
        const settled = await submitter.settle(jobId, turn.release);
        common.logger.info("session closed", { jobId, hash: settled.transactionHash, provenTokens: settled.provenTokens });
        sendJson(response, 200, { jobId: jobId.toString(), ...settled });
      } catch (error) {
        // Failed before anything settled: served again (if the clear fails too, it is tried again shortly; the close's lease ends it at the latest).
        await turn
          .abandon()
          .catch((cause: unknown) =>
            common.logger.warn("cannot clear a failed close's mark yet; trying again shortly (its lease ends it at the latest)", { jobId, error: cause }),
          );
        throw error;
      } finally {
        turn.release();
      }
    },

    /** Answers a signed request with the newest receipt and the exchanges the client has not signed for. */
    async sync(request: IncomingMessage, response: ServerResponse): Promise<void> {
      const clientGone = watchClient(response);
      const authenticated = await authenticateJobRequest(request, sessionEndpoints.sync);
      await protocol.sync(
        authenticated,
        async ({ head, exchanges }) => void (await sendJsonWithArray(response, head, "exchanges", exchanges, encodeRecordedExchange, writeStallTimeoutMs)),
        clientGone,
      );
    },

    /** What the host knows about a session: served, signed and proven token counts. */
    async describe(_request: IncomingMessage, response: ServerResponse, params: Record<string, string>): Promise<void> {
      const jobId = params.jobId ?? "";
      if (!/^\d{1,78}$/.test(jobId)) throw new HostError("invalid_request", "job id must be decimal");
      const view = await protocol.describe(BigInt(jobId));
      if (!view) throw new HostError("session_unknown", `this host has served nothing for session ${jobId}`);
      sendJson(response, 200, view);
    },
  };
}
