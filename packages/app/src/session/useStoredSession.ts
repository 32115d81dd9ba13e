import { useCallback, useEffect, useRef, useState } from "react";
import { getCurrentSessionId, loadSession, saveSession, setCurrentSessionId, sessionId, type StoredSession } from "./storage.ts";

/**
 * The session the page works on, resumed from IndexedDB after a reload. The SDK updates the
 * session object in place; `persist` saves it and re-renders.
 */
export function useStoredSession() {
  const [loaded, setLoaded] = useState(false);
  const [, setVersion] = useState(0);
  const record = useRef<StoredSession | undefined>(undefined);

  useEffect(() => {
    void (async () => {
      const id = await getCurrentSessionId();
      record.current = id ? await loadSession(id) : undefined;
      setLoaded(true);
    })();
  }, []);

  const refresh = useCallback(() => setVersion((version) => version + 1), []);
  const persist = useCallback(async () => {
    if (record.current) await saveSession(record.current);
    refresh();
  }, [refresh]);
  const select = useCallback(
    async (next: Omit<StoredSession, "id" | "updatedAt"> | undefined) => {
      record.current = next && { ...next, id: sessionId(next.session), updatedAt: Date.now() };
      if (next) await saveSession(next);
      await setCurrentSessionId(record.current?.id);
      refresh();
    },
    [refresh],
  );
  const resume = useCallback(
    async (id: string) => {
      record.current = await loadSession(id);
      await setCurrentSessionId(record.current?.id);
      refresh();
    },
    [refresh],
  );
  return { loaded, record: record.current, persist, refresh, select, resume };
}
