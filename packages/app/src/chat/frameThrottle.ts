/** A redraw that runs at most once per animation frame, however often it is asked for. */
export type FrameThrottled = {
  /** Asks for a redraw at the next frame (one already asked for covers this one). */
  schedule(): void;
  /** Runs the redraw now if one is pending (an answer ended), so the last text is never left undrawn. */
  flush(): void;
};

/** `redraw` throttled to once per animation frame (`requestFrame`, `requestAnimationFrame` by default). */
export function frameThrottle(
  redraw: () => void,
  requestFrame: (callback: () => void) => void = (callback) => requestAnimationFrame(callback),
): FrameThrottled {
  let pending = false;
  const run = () => {
    if (!pending) return;
    pending = false;
    redraw();
  };
  return {
    schedule() {
      if (pending) return;
      pending = true;
      requestFrame(run);
    },
    flush: run,
  };
}
