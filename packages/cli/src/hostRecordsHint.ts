import { HostRecordsGapError, SessionOutOfSyncError } from "@session-jobs/sdk";
import { CliError, findCause } from "./errors.ts";

/**
 * A host whose records of a session fall short of the receipts this client signed (its store was
 * rolled back to an older copy, a backup restored): the SDK's words describe the protocol (call
 * syncSession, which the CLI has done), so say instead what happened and what the user can do. A
 * refusal as out of sync may also be a race with another chat of the same session, so that hint
 * says to try again first. Undefined for any other error.
 */
export function hostRecordsError(error: unknown, jobId: bigint): CliError | undefined {
  const lost = `the host lost records of this session (its database rolled back?) and cannot go on with it: \`session-jobs client close --job ${jobId}\` settles it, paying the host what it proved on chain and returning the rest of the deposit; tell the host's operator`;
  const gap = findCause(error, HostRecordsGapError);
  if (gap)
    return new CliError(
      `the host's records of session ${jobId} do not lead to the receipts this client signed (signed for ${gap.clientTokens} tokens, the host stands at ${gap.hostTokens})`,
      lost,
    );
  const outOfSync = findCause(error, SessionOutOfSyncError);
  if (outOfSync)
    return new CliError(
      `the host refused the request: its records of session ${jobId} are not where this client's receipts are (${outOfSync.hostMessage})`,
      `run the same command again (it syncs first); if it fails again, ${lost}`,
    );
  return undefined;
}
