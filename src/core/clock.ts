/**
 * Time is passed in, never read inside the core (Knative's scaler takes `now`; the HPA's
 * stabilizer reads the wall clock, which is what we avoid). `now()` is monotonic milliseconds;
 * `wallNow()` is for display and storage only, never for windows or decisions.
 */
export interface Clock {
  /** Monotonic milliseconds: never jumps when the wall clock is changed. */
  now(): number;
  /** Unix epoch milliseconds, for timestamps people read. */
  wallNow(): number;
}

const origin = Date.now() - performance.now();

/** The process clock: `performance.now()` anchored at start, so it is monotonic but near epoch values. */
export const systemClock: Clock = {
  now: () => origin + performance.now(),
  wallNow: () => Date.now(),
};

/** A clock that moves only when told to; for timeline tests and the simulator. */
export class ManualClock implements Clock {
  #now: number;
  #wallOffset: number;

  constructor(start = 0, wallStart = start) {
    this.#now = start;
    this.#wallOffset = wallStart - start;
  }

  now(): number {
    return this.#now;
  }

  wallNow(): number {
    return this.#now + this.#wallOffset;
  }

  /** Moves time forward by `ms` (never backwards: monotonic). */
  advance(ms: number): void {
    if (!(ms >= 0)) throw new RangeError(`ManualClock.advance: ms must be >= 0, got ${ms}`);
    this.#now += ms;
  }

  /** Jumps the wall clock only, as an NTP step or an operator would; `now()` is unaffected. */
  jumpWall(ms: number): void {
    this.#wallOffset += ms;
  }
}
