/**
 * Holds back streamed text that could be the start of a stop sequence, and cuts the text before
 * the first stop sequence once one appears, so that no part of a stop sequence is ever delivered.
 */
export class StopSequenceFilter {
  private pending = "";
  private readonly stops: string[];

  constructor(stops: readonly string[] = []) {
    this.stops = stops.filter((stop) => stop.length > 0);
  }

  /** Adds generated text; returns what may be delivered now and whether a stop sequence matched. */
  push(text: string): { deliver: string; stopped: boolean } {
    this.pending += text;
    let cut = -1;
    for (const stop of this.stops) {
      const at = this.pending.indexOf(stop);
      if (at !== -1 && (cut === -1 || at < cut)) cut = at;
    }
    if (cut !== -1) {
      const deliver = this.pending.slice(0, cut);
      this.pending = "";
      return { deliver, stopped: true };
    }
    const keep = this.longestStopPrefixSuffix();
    const deliver = this.pending.slice(0, this.pending.length - keep);
    this.pending = this.pending.slice(this.pending.length - keep);
    return { deliver, stopped: false };
  }

  /** Text held back when generation ends without a stop sequence. */
  flush(): string {
    const rest = this.pending;
    this.pending = "";
    return rest;
  }

  private longestStopPrefixSuffix(): number {
    let longest = 0;
    for (const stop of this.stops) {
      for (let n = Math.min(stop.length - 1, this.pending.length); n > longest; n--) {
        if (this.pending.endsWith(stop.slice(0, n))) {
          longest = n;
          break;
        }
      }
    }
    return longest;
  }
}
