/**
 * A stream's timeout (time to first token, then between tokens) as one timer: a chunk only stamps
 * the time (`touch`); when the timer fires it checks the stamp and either expires or re-arms for
 * what is left. No clearTimeout/setTimeout (or timer re-insertion) per relayed chunk.
 */

/** One call's timeout; `onExpire` runs at most once. */
export class Deadline {
  private timer: NodeJS.Timeout;
  private last: number;
  private stopped = false;
  /** The deadline passed (onExpire ran). */
  expired = false;

  constructor(
    private ms: number,
    private readonly onExpire: () => void,
  ) {
    this.last = performance.now();
    this.timer = setTimeout(this.check, ms);
  }

  /** Activity now: the deadline moves to now + ms. */
  touch(): void {
    this.last = performance.now();
  }

  /** From now on `ms` without activity expires it (counted from now). */
  pace(ms: number): void {
    const shorter = ms < this.ms;
    this.ms = ms;
    this.last = performance.now();
    if (shorter) {
      clearTimeout(this.timer);
      this.timer = setTimeout(this.check, ms);
    }
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private readonly check = (): void => {
    if (this.stopped) return;
    const idle = performance.now() - this.last;
    if (idle >= this.ms) {
      this.expired = true;
      this.stopped = true;
      this.onExpire();
    } else this.timer = setTimeout(this.check, Math.max(1, Math.ceil(this.ms - idle)));
  };
}
