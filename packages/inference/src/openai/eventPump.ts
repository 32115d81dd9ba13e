import type { IncomingMessage } from "node:http";
import type { Readable } from "node:stream";

/** How a pumped event stream ended: the body ended, `take` said `"done"`, or `ready()` said stop. */
export type PumpOutcome = "end" | "done" | "stopped";

export type PumpEventsParameters = {
  /** The body, read in flowing mode ('data' events); paused while the consumer is full, destroyed if left unfinished. */
  body: Readable;
  /** The data of the events one chunk of `body` completes (called once per chunk, in order). */
  events(chunk: unknown): readonly string[];
  /** The data of the events the body's end completes. */
  rest(): readonly string[];
  /** Takes one event: `true` goes on, `false` waits for `ready()` first, `"done"` ends the stream here. A throw fails the pump. */
  take(data: string): boolean | "done";
  /** After `take` returned `false`: resolves `true` to go on, `false` to stop. */
  ready(): Promise<boolean>;
};

/**
 * Feeds the events of an upstream body to `take` from the body's own 'data' events: no promise or
 * generator step per event, so a relayed token costs one synchronous call. Back-pressure: when
 * `take` returns `false` the body is paused (the socket stops being read, so the upstream's
 * buffered bytes stay bounded by the kernel's and the stream's high-water marks), the events of
 * that chunk not yet taken wait, and reading resumes once `ready()` resolves `true`.
 *
 * Resolves with the outcome; rejects with the body's error, with a close before its end, or with
 * what `take`/`ready` threw. A body left unfinished (done early, stopped, failed) is destroyed.
 */
export function pumpEvents({ body, events: eventsOf, rest, take, ready }: PumpEventsParameters): Promise<PumpOutcome> {
  return new Promise((resolve, reject) => {
    let events: readonly string[] = [];
    let next = 0;
    /** The body ended (it may while paused, once its buffer is empty); `restTaken`: `rest()` was read. */
    let ended = false;
    let restTaken = false;
    /** Waiting for `ready()`: the body is paused and `events` holds what is left of the last chunk. */
    let waiting = false;
    let settled = false;

    const finished = () => ended || (body as Partial<IncomingMessage>).complete === true;
    const settle = (outcome: PumpOutcome | Error) => {
      if (settled) return;
      settled = true;
      // A keep-alive response whose message is complete ends by itself and frees its socket.
      if (outcome === "done" && !finished()) {
        // "[DONE]" is read before the message's end when both come in one read (a server's
        // `end("data: [DONE]\n\n")`): the parser marks the message complete right after this
        // chunk's 'data' event. Destroyed now, the keep-alive socket would be lost and the next
        // request would open a new connection; so it is judged once the current read is parsed.
        setImmediate(() => {
          if (!finished()) body.destroy();
          resolve(outcome);
        });
        return;
      }
      if (!finished()) body.destroy();
      if (outcome instanceof Error) reject(outcome);
      else resolve(outcome);
    };
    const fail = (error: unknown) => settle(error instanceof Error ? error : new Error(String(error)));

    /** Takes the events not yet taken; `true` once all are, `false` while waiting for `ready()` or settled. */
    const drain = (): boolean => {
      while (next < events.length) {
        const taken = take(events[next++]!);
        if (taken === true) continue;
        if (taken === "done") {
          settle("done");
          return false;
        }
        waiting = true;
        body.pause();
        ready().then((goOn) => {
          waiting = false;
          if (settled) return;
          if (!goOn) return settle("stopped");
          try {
            if (drain()) readOn();
          } catch (error) {
            fail(error);
          }
        }, fail);
        return false;
      }
      return true;
    };
    /** Everything received is taken: read on, or take what the end completes and finish. */
    const readOn = () => {
      if (!ended) return void body.resume();
      if (!restTaken) {
        restTaken = true;
        events = rest();
        next = 0;
        if (!drain()) return;
      }
      settle("end");
    };

    body.on("data", (chunk: unknown) => {
      if (settled) return;
      try {
        events = eventsOf(chunk);
        next = 0;
        drain();
      } catch (error) {
        fail(error);
      }
    });
    body.once("end", () => {
      ended = true;
      if (settled || waiting) return;
      try {
        readOn();
      } catch (error) {
        fail(error);
      }
    });
    body.on("error", fail);
    body.once("close", () => {
      if (!ended) fail(new Error("the event stream closed before its end"));
    });
  });
}
