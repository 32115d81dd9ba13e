import { useEffect, useRef, useState } from "react";
import type { HostMove } from "../session/movedHost.ts";
import type { StoredSession } from "../session/storage.ts";
import { Markdown } from "./Markdown.tsx";
import { answerLengths, useChat } from "./useChat.ts";

/** The conversation: streamed answers, multi-turn history, Stop. */
export function ChatPanel(props: {
  record: StoredSession;
  persist: () => Promise<void>;
  refresh: () => void;
  onMoved: (move: HostMove) => void;
  disabled?: string | undefined;
}) {
  const { record } = props;
  const chat = useChat(record, props.persist, props.refresh, props.onMoved);
  const [prompt, setPrompt] = useState("");
  const [maxTokens, setMaxTokens] = useState<number>(answerLengths[0]);
  const list = useRef<HTMLDivElement>(null);
  const lastLength = record.lines.at(-1)?.content.length ?? 0;
  // Follow the answer inside the list only: scrolling the window would move the page (and the
  // Stop button) under the reader's pointer on every token.
  useEffect(() => {
    if (list.current) list.current.scrollTop = list.current.scrollHeight;
  }, [record.lines.length, lastLength]);

  const submit = () => {
    const text = prompt.trim();
    if (text === "" || chat.busy) return;
    setPrompt("");
    void chat.send(text, maxTokens);
  };

  return (
    <section className="card chat">
      <div className="messages" data-testid="messages" ref={list}>
        {record.lines.length === 0 && <p className="muted empty">Ask anything. Answers stream in as the host writes them; you pay per token.</p>}
        {record.lines.map((line, index) => (
          <div key={index} className={`message ${line.role}`} data-testid={`message-${line.role}`}>
            {line.role === "assistant" ? <Markdown text={line.content} /> : <p>{line.content}</p>}
            {line.role === "assistant" && line.content === "" && !line.failed && chat.busy && index === record.lines.length - 1 && (
              <span className="typing">…</span>
            )}
            {line.stopped && <span className="tag">stopped</span>}
            {line.failed && (
              <p className="error" role="alert">
                {line.failed}
              </p>
            )}
          </div>
        ))}
      </div>
      <form
        className="composer"
        onSubmit={(event) => {
          event.preventDefault();
          submit();
        }}
      >
        <textarea
          aria-label="Message"
          placeholder={props.disabled ?? "Type a message"}
          disabled={props.disabled !== undefined}
          value={prompt}
          rows={2}
          onChange={(event) => setPrompt(event.target.value)}
          onKeyDown={(event) => {
            if (event.key === "Enter" && !event.shiftKey) {
              event.preventDefault();
              submit();
            }
          }}
        />
        <select aria-label="Longest answer" title="Longest answer, in tokens" value={maxTokens} onChange={(event) => setMaxTokens(Number(event.target.value))}>
          {answerLengths.map((length) => (
            <option key={length} value={length}>
              ≤ {length} tokens
            </option>
          ))}
        </select>
        {chat.busy ? (
          <button type="button" className="stop" onClick={chat.stop}>
            Stop
          </button>
        ) : (
          <button type="submit" className="primary" disabled={props.disabled !== undefined || prompt.trim() === ""}>
            Send
          </button>
        )}
      </form>
    </section>
  );
}
