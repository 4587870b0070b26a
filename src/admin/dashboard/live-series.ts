/**
 * The samples behind the live charts: one row per tick (epoch seconds) with named values, kept
 * for a fixed span (15 minutes) and trimmed as new ticks arrive. History from the store fills the
 * time before the first live sample. Pure: time comes in with the samples, nothing reads a clock.
 */

/** Columns in uPlot's layout: `[times, ...one array per key]`, null where a key has no value. */
export type Columns = [number[], ...Array<Array<number | null>>];

/** A time-ordered table of samples with a retention span. */
export class LiveSeries {
  readonly #keepS: number;
  #times: number[] = [];
  #rows: Array<Record<string, number>> = [];
  /** The oldest live (pushed) sample: history fills only the time before it. */
  #firstLive = Infinity;

  constructor(keepSeconds = 900) {
    this.#keepS = keepSeconds;
  }

  /** Number of samples held. */
  get length(): number {
    return this.#times.length;
  }

  /** Time of the oldest sample (epoch s), or null. */
  get first(): number | null {
    return this.#times.length ? this.#times[0]! : null;
  }

  /** Time of the newest sample (epoch s), or null. */
  get last(): number | null {
    return this.#times.length ? this.#times[this.#times.length - 1]! : null;
  }

  /** The newest sample's values. */
  latest(): Record<string, number> | undefined {
    return this.#rows[this.#rows.length - 1];
  }

  /** Adds a sample at `t` (epoch s); a sample at the same second replaces the values it names. */
  push(t: number, values: Record<string, number>): void {
    this.#firstLive = Math.min(this.#firstLive, t);
    const n = this.#times.length;
    if (n && t <= this.#times[n - 1]!) {
      if (t === this.#times[n - 1]) Object.assign(this.#rows[n - 1]!, values);
      else this.#insert(t, values);
    } else {
      this.#times.push(t);
      this.#rows.push({ ...values });
    }
    this.#trim(this.#times[this.#times.length - 1]!);
  }

  /** Merges stored history for one key: points `[t, value]` up to the first live sample (which wins). */
  backfill(key: string, points: Array<[number, number]>): void {
    for (const [t, v] of points)
      if (t <= this.#firstLive && Number.isFinite(v)) this.#insert(t, { [key]: v }, false);
    if (this.#times.length) this.#trim(this.#times[this.#times.length - 1]!);
  }

  /** Every key seen, in first-seen order, optionally only those starting with `prefix`. */
  keys(prefix = ''): string[] {
    const seen = new Set<string>();
    for (const r of this.#rows) for (const k of Object.keys(r)) if (k.startsWith(prefix)) seen.add(k);
    return [...seen];
  }

  /** The columns for `keys`, ready for `uPlot.setData`. */
  columns(keys: string[]): Columns {
    return [this.#times.slice(), ...keys.map((k) => this.#rows.map((r) => (k in r ? r[k]! : null)))];
  }

  #insert(t: number, values: Record<string, number>, replace = true): void {
    // Binary search: history arrives in order, so this is an append or a prepend in practice.
    let lo = 0;
    let hi = this.#times.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.#times[mid]! < t) lo = mid + 1;
      else hi = mid;
    }
    // A live value wins over stored history for the same second.
    if (this.#times[lo] === t)
      Object.assign(this.#rows[lo]!, replace ? values : { ...values, ...this.#rows[lo] });
    else {
      this.#times.splice(lo, 0, t);
      this.#rows.splice(lo, 0, { ...values });
    }
  }

  #trim(newest: number): void {
    let drop = 0;
    while (drop < this.#times.length && this.#times[drop]! < newest - this.#keepS) drop++;
    if (drop) {
      this.#times.splice(0, drop);
      this.#rows.splice(0, drop);
    }
  }
}
