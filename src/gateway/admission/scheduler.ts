/**
 * The one timer the admission layer needs (waking the queue at the earliest deadline) comes from an
 * injectable scheduler, so tests and the simulator run it on a ManualClock without sleeping.
 */
import type { Clock } from '../../core/clock.js';

/** Runs a callback at an absolute time on some clock. */
export interface Scheduler {
  /** Calls `fn` once at (or soon after) `at` ms; returns a handle for `cancel`. */
  schedule(at: number, fn: () => void): unknown;
  /** Cancels a scheduled call (no-op when it already ran). */
  cancel(handle: unknown): void;
}

/** A scheduler on real timers; they are unref'd so a queue never keeps the process alive. */
export function timerScheduler(clock: Clock): Scheduler {
  return {
    schedule(at, fn) {
      const t = setTimeout(fn, Math.max(0, Math.ceil(at - clock.now())));
      t.unref();
      return t;
    },
    cancel(handle) {
      clearTimeout(handle as NodeJS.Timeout);
    },
  };
}

/** A scheduler driven by hand: `runDue(now)` fires what is due, in time order. */
export class ManualScheduler implements Scheduler {
  #timers: { at: number; fn: () => void; id: number }[] = [];
  #seq = 0;

  /** Registers `fn` at `at`. */
  schedule(at: number, fn: () => void): unknown {
    const id = ++this.#seq;
    this.#timers.push({ at, fn, id });
    return id;
  }

  /** Drops a registered call. */
  cancel(handle: unknown): void {
    this.#timers = this.#timers.filter((t) => t.id !== handle);
  }

  /** Calls pending: how many are scheduled. */
  get pending(): number {
    return this.#timers.length;
  }

  /** The earliest scheduled time, or Infinity. */
  nextAt(): number {
    let min = Number.POSITIVE_INFINITY;
    for (const t of this.#timers) if (t.at < min) min = t.at;
    return min;
  }

  /** Fires every call due at `now` (including ones scheduled by those calls); returns the count. */
  runDue(now: number): number {
    let fired = 0;
    for (;;) {
      let next: { at: number; fn: () => void; id: number } | undefined;
      for (const t of this.#timers) if (t.at <= now && (next === undefined || t.at < next.at)) next = t;
      if (next === undefined) return fired;
      this.#timers = this.#timers.filter((t) => t !== next);
      next.fn();
      fired++;
    }
  }
}
