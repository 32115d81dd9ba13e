/**
 * One request's time limit: fires `timeoutMs` after the last `arm()` or received chunk, and
 * also follows the caller's signal and, when given, `stop` (the reader left: end quietly).
 */
export class Deadline {
  private readonly controller = new AbortController();
  private timer: NodeJS.Timeout | undefined;
  /** True from sending a request until it failed in a way that cannot have started a generation. */
  requestInFlight = false;
  timedOut = false;
  /** The caller's signal has fired: a flag read per event instead of the combined signal's getter. */
  callerAborted = false;
  private readonly onCallerAbort = () => {
    this.callerAborted = true;
    this.controller.abort(this.caller.reason);
  };
  private readonly onStop = () => this.controller.abort(new Error("the reader left"));

  constructor(
    private readonly timeoutMs: number,
    private readonly caller: AbortSignal,
    private readonly stop?: AbortSignal,
  ) {
    if (caller.aborted) this.onCallerAbort();
    else caller.addEventListener("abort", this.onCallerAbort, { once: true });
    stop?.addEventListener("abort", this.onStop, { once: true });
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  arm(): void {
    // Called per chunk: a timestamp, not a timer move (refresh() costs several times more); the
    // one timer checks it when it fires and waits out what is left.
    this.armedAt = performance.now();
    this.timer ??= setTimeout(this.onTimer, this.timeoutMs);
  }

  private armedAt = 0;
  private readonly onTimer = () => {
    const left = this.armedAt + this.timeoutMs - performance.now();
    if (left > 0) {
      this.timer = setTimeout(this.onTimer, left);
      return;
    }
    this.timedOut = true;
    this.controller.abort(new Error("timeout"));
  };

  clear(): void {
    clearTimeout(this.timer);
    this.caller.removeEventListener("abort", this.onCallerAbort);
    this.stop?.removeEventListener("abort", this.onStop);
  }

  /** Re-arms on every chunk of `body`, so that `timeoutMs` bounds the gap between chunks. */
  async *watch(body: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
    for await (const chunk of body) {
      this.arm();
      yield chunk;
    }
  }
}
