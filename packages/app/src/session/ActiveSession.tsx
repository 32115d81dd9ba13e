import { closeSession, type Settlement } from "@session-jobs/sdk";
import { useMutation } from "@tanstack/react-query";
import { useState } from "react";
import { useWalletClient } from "wagmi";
import { ChatPanel } from "../chat/ChatPanel.tsx";
import { describeError } from "../errors.ts";
import { Meter } from "../meter/Meter.tsx";
import { SettlementView } from "./SettlementView.tsx";
import type { StoredSession } from "./storage.ts";

/** An open (or just closed) session: chat, the live meter, close and the checked settlement. */
export function ActiveSession(props: { record: StoredSession; persist: () => Promise<void>; refresh: () => void; onNew: () => void }) {
  const { record } = props;
  const { data: walletClient } = useWalletClient();
  const [reported, setReported] = useState<Settlement | undefined>();
  const close = useMutation({
    mutationFn: async () => {
      if (!walletClient) throw new Error("Connect the wallet that opened this session to close it.");
      return closeSession(walletClient, { session: record.session });
    },
    onSuccess: async (settlement) => {
      setReported(settlement);
      record.closed = true;
      await props.persist();
    },
  });

  return (
    <div className="session-layout">
      <div className="main-column">
        {record.closed && <SettlementView session={record.session} reported={reported} />}
        <ChatPanel
          record={record}
          persist={props.persist}
          refresh={props.refresh}
          disabled={record.closed ? "This session is closed." : record.session.dispute}
        />
        <div className="actions">
          {!record.closed && (
            <button className="secondary" disabled={close.isPending} onClick={() => close.mutate()}>
              {close.isPending ? "Closing and settling…" : "Close session and settle"}
            </button>
          )}
          <button className="link" onClick={props.onNew}>
            Start another session
          </button>
        </div>
        {close.error && (
          <p className="error" role="alert">
            {describeError(close.error)}
          </p>
        )}
      </div>
      <Meter session={record.session} />
    </div>
  );
}
