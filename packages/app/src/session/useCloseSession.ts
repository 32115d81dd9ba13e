import { closeSession, type CloseSessionReturnType } from "@session-jobs/sdk";
import { useMutation } from "@tanstack/react-query";
import { useEffect, useState } from "react";
import { usePublicClient, useWalletClient } from "wagmi";
import { useDeployment } from "../DeploymentContext.ts";
import { retrying, type CloseProgress } from "./closeProgress.ts";
import { followMovedHostBeforeClose, type HostMove } from "./movedHost.ts";
import type { StoredSession } from "./storage.ts";

/**
 * How long a forced close still gives the host to settle, in ms, before the user's wallet settles
 * on chain: the user has already waited out a normal close's minute (the SDK's `hostTimeoutMs`).
 */
export const forcedCloseWaitMs = 15_000;

/** What a close asks: `force` settles as the depositor when the host's close under way never settles (`closeSession`'s `force`). */
export type CloseRequest = { force: boolean };

/**
 * Closes the session (`closeSession`): first follows a host that moved (`followMovedHostBeforeClose`,
 * telling `onMoved`), so the host proves the newest receipt; then the host settles, or the SDK does
 * without it. `reported` is the settlement the close returned; `progress`, what the pending close
 * waits for (the host, asked again while it does not answer; its settlement; the wallet's).
 */
export function useCloseSession(record: StoredSession, persist: () => Promise<void>, onMoved: (move: HostMove) => void) {
  const { data: walletClient } = useWalletClient();
  const client = usePublicClient();
  const { nodeRegistry } = useDeployment();
  const [reported, setReported] = useState<CloseSessionReturnType | undefined>();
  const [progress, setProgress] = useState<CloseProgress>({ stage: "host" });
  // Past the close's bound the SDK stops asking the host and the wallet settles.
  useEffect(() => {
    if (progress.stage !== "retrying") return;
    const timer = setTimeout(() => setProgress((now) => (now === progress ? { stage: "walletSettling" } : now)), progress.endsAt - Date.now());
    return () => clearTimeout(timer);
  }, [progress]);
  const close = useMutation({
    mutationFn: async (request: CloseRequest) => {
      setProgress({ stage: "host" });
      if (!walletClient) throw new Error("Connect the wallet that opened this session to close it.");
      const move = client && (await followMovedHostBeforeClose(client, nodeRegistry, record.session));
      if (move) {
        onMoved(move);
        await persist();
      }
      return closeSession(walletClient, {
        session: record.session,
        onHostRetry: (retry) => setProgress(retrying(retry, Date.now())),
        onHostSettling: () => setProgress({ stage: "hostSettling" }),
        ...(request.force && { force: true, hostTimeoutMs: forcedCloseWaitMs }),
      });
    },
    onSuccess: async (settlement) => {
      setReported(settlement);
      record.closed = true;
      await persist();
    },
  });
  return { close, reported, progress };
}
