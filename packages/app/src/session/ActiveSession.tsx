import { useState } from "react";
import { ChatPanel } from "../chat/ChatPanel.tsx";
import { Meter } from "../meter/Meter.tsx";
import { CloseControls } from "./CloseControls.tsx";
import type { HostMove } from "./movedHost.ts";
import { SettlementView } from "./SettlementView.tsx";
import type { StoredSession } from "./storage.ts";
import { useCloseSession } from "./useCloseSession.ts";

/** An open (or just closed) session: chat, the live meter, close and the checked settlement. */
export function ActiveSession(props: { record: StoredSession; persist: () => Promise<void>; refresh: () => void; onNew: () => void }) {
  const { record } = props;
  // The host moved while this page showed the session: the chat or the close followed it (one line).
  const [move, setMove] = useState<HostMove | undefined>();
  const { close, reported, progress } = useCloseSession(record, props.persist, setMove);

  return (
    <div className="session-layout">
      <div className="main-column">
        {record.closed && <SettlementView session={record.session} reported={reported} />}
        {move && (
          <p className="notice" role="status" data-testid="host-moved">
            The host moved: this session now reaches it at {move.url}, the address it registered on chain.
          </p>
        )}
        <ChatPanel
          record={record}
          persist={props.persist}
          refresh={props.refresh}
          onMoved={setMove}
          disabled={record.closed ? "This session is closed." : record.session.dispute}
        />
        <CloseControls session={record.session} close={close} progress={progress} closed={record.closed} onNew={props.onNew} />
      </div>
      <Meter session={record.session} />
    </div>
  );
}
