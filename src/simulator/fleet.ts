/**
 * The simulated instances of one service and their lifecycle:
 *
 *   launch ──startup s──▶ ready ──scale-down──▶ draining ──drain s──▶ stopped
 *      └──── scale-down while still starting ─────────────────────────▶ stopped
 *
 * A scale-down cancels the newest starting instances first (they serve nothing yet; Kubernetes'
 * ReplicaSet controller likewise deletes not-ready pods first), then drains ready ones.
 * Every instance is billed from launch to stop, whether starting, ready or draining.
 * Time is in whole simulated seconds; an instance launched at the end of second t is ready for
 * second t + 1 + startup.
 */

/** Lifecycle timings, seconds. */
export interface FleetOptions {
  startupS: number;
  drainS: number;
  /** Ready instances at second 0. */
  initial: number;
}

/** The instances of one service. */
export interface Fleet {
  readonly ready: number;
  readonly starting: number;
  readonly draining: number;
  /** Promotes instances whose startup is over and stops drained ones, at the start of second `t`. */
  advance(t: number): void;
  /** The earliest second at which an instance becomes ready or stops (Infinity when none). */
  nextEventAt(): number;
  /** Launches or stops instances at the end of second `t` so that starting + ready = `desired`. */
  scaleTo(desired: number, t: number): void;
}

/** A FIFO of due times (all delays are equal, so due times arrive in order). */
function dueQueue() {
  let items: number[] = [];
  let head = 0;
  return {
    get size() {
      return items.length - head;
    },
    push(due: number) {
      items.push(due);
    },
    popNewest() {
      items.pop();
    },
    get first() {
      return head < items.length ? items[head]! : Infinity;
    },
    /** Removes and counts the items due at or before `t`. */
    takeDue(t: number): number {
      let n = 0;
      while (head < items.length && items[head]! <= t) {
        head++;
        n++;
      }
      if (head > 1024 && head * 2 > items.length) {
        items = items.slice(head);
        head = 0;
      }
      return n;
    },
  };
}

/** Creates a fleet with `initial` ready instances. */
export function fleet(options: FleetOptions): Fleet {
  const startup = Math.max(0, Math.ceil(options.startupS));
  const drain = Math.max(0, Math.ceil(options.drainS));
  const starting = dueQueue();
  const draining = dueQueue();
  let ready = Math.max(0, Math.floor(options.initial));
  return {
    get ready() {
      return ready;
    },
    get starting() {
      return starting.size;
    },
    get draining() {
      return draining.size;
    },
    nextEventAt(): number {
      return Math.min(starting.first, draining.first);
    },
    advance(t: number): void {
      ready += starting.takeDue(t);
      draining.takeDue(t);
    },
    scaleTo(desired: number, t: number): void {
      const target = Math.max(0, Math.floor(desired));
      let live = ready + starting.size;
      while (live < target) {
        starting.push(t + 1 + startup);
        live++;
      }
      while (live > target && starting.size > 0) {
        starting.popNewest();
        live--;
      }
      while (live > target && ready > 0) {
        ready--;
        if (drain > 0) draining.push(t + 1 + drain);
        live--;
      }
    },
  };
}
