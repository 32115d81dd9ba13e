/**
 * One request's time limit: fires `timeoutMs` after the last `arm()` or received chunk, and
 * also follows the caller's signals and, when given, `stop` (the reader left: end quietly).
 */
export class Deadline {
  private readonly controller = new AbortController();
  private timer: NodeJS.Timeout | undefined;
  /** True from sending a request until it failed in a way that cannot have started a generation. */
  requestInFlight = false;
  timedOut = false;
  /**
   * One of the caller's signals has fired (the first to fire gave {@link callerReason}): read
   * instead of a signal combining them, which `AbortSignal.any` would make per request at ~15 µs.
   */
  callerAborted = false;
  callerReason: unknown;
  private readonly onCallerAbort = (event: Event) => this.abortForCaller(event.target as AbortSignal);
  private readonly onStop = () => this.controller.abort(new Error("the reader left"));

  constructor(
    private readonly timeoutMs: number,
    private readonly callers: readonly AbortSignal[],
    private readonly stop?: AbortSignal,
  ) {
    const aborted = callers.find((caller) => caller.aborted);
    if (aborted) this.abortForCaller(aborted);
    else for (const caller of callers) caller.addEventListener("abort", this.onCallerAbort, { once: true });
    stop?.addEventListener("abort", this.onStop, { once: true });
  }

  private abortForCaller(caller: AbortSignal): void {
    if (this.callerAborted) return;
    this.callerAborted = true;
    this.callerReason = caller.reason;
    this.controller.abort(caller.reason);
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
    for (const caller of this.callers) caller.removeEventListener("abort", this.onCallerAbort);
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
