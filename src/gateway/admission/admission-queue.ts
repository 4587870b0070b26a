/**
 * The bounded FIFO of requests waiting for capacity (Knative's activator holds requests the same
 * way while a revision scales from zero; HAProxy's `timeout queue` bounds the wait). Pure: every
 * method takes `now`; the owner decides when to wake it. Removal from the middle (a client gone,
 * a deadline passed) marks the entry dead, and dead entries are compacted lazily, so push and
 * shift stay O(1) amortised.
 */

/** One waiting request. */
export interface Waiter<T> {
  readonly value: T;
  readonly enqueuedAt: number;
  /** Absolute time (same clock as `now`) after which waiting is pointless. */
  readonly deadline: number;
  live: boolean;
}

/** Bounded FIFO with deadlines. */
export class AdmissionQueue<T> {
  /** Most waiters held at once. */
  readonly max: number;
  #items: Waiter<T>[] = [];
  #head = 0;
  #live = 0;
  #minDeadline = Number.POSITIVE_INFINITY;

  constructor(max: number) {
    if (!(Number.isInteger(max) && max >= 0))
      throw new RangeError(`queue.max must be an integer >= 0, got ${max}`);
    this.max = max;
  }

  /** Live waiters. */
  get size(): number {
    return this.#live;
  }

  /** Whether another waiter fits. */
  get full(): boolean {
    return this.#live >= this.max;
  }

  /** Appends a waiter; undefined when the queue is full. */
  push(value: T, now: number, deadline: number): Waiter<T> | undefined {
    if (this.#live >= this.max) return undefined;
    const w: Waiter<T> = { value, enqueuedAt: now, deadline, live: true };
    this.#items.push(w);
    this.#live++;
    if (deadline < this.#minDeadline) this.#minDeadline = deadline;
    return w;
  }

  /** Removes and returns the oldest live waiter. */
  shift(): Waiter<T> | undefined {
    const items = this.#items;
    while (this.#head < items.length) {
      const w = items[this.#head]!;
      items[this.#head] = undefined as unknown as Waiter<T>;
      this.#head++;
      if (w.live) {
        w.live = false;
        this.#live--;
        this.#compact();
        return w;
      }
    }
    this.#compact();
    return undefined;
  }

  /** Takes `w` out of the queue (client went away); false when it already left. */
  remove(w: Waiter<T>): boolean {
    if (!w.live) return false;
    w.live = false;
    this.#live--;
    return true;
  }

  /** Removes and returns every waiter whose deadline is ≤ `now`, oldest first. */
  expire(now: number): Waiter<T>[] {
    const out: Waiter<T>[] = [];
    if (now < this.#minDeadline) return out;
    const kept: Waiter<T>[] = [];
    let min = Number.POSITIVE_INFINITY;
    for (let i = this.#head; i < this.#items.length; i++) {
      const w = this.#items[i]!;
      if (!w.live) continue;
      if (w.deadline <= now) {
        w.live = false;
        this.#live--;
        out.push(w);
      } else {
        kept.push(w);
        if (w.deadline < min) min = w.deadline;
      }
    }
    this.#items = kept;
    this.#head = 0;
    this.#minDeadline = min;
    return out;
  }

  /** The earliest deadline of a live waiter (may be early after removals: waking early is harmless). */
  nextDeadline(): number {
    return this.#live === 0 ? Number.POSITIVE_INFINITY : this.#minDeadline;
  }

  /** Removes and returns every live waiter (shutdown). */
  drain(): Waiter<T>[] {
    const out: Waiter<T>[] = [];
    for (let w = this.shift(); w !== undefined; w = this.shift()) out.push(w);
    this.#items = [];
    this.#head = 0;
    this.#minDeadline = Number.POSITIVE_INFINITY;
    return out;
  }

  #compact(): void {
    if (this.#live === 0) {
      this.#items = [];
      this.#head = 0;
      this.#minDeadline = Number.POSITIVE_INFINITY;
    } else if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
  }
}
