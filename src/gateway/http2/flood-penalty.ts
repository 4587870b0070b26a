/**
 * Per-source penalty after an HTTP/2 flood (pure: the caller passes `now`). When a connection from
 * an address trips the flood guard (h2-guard.ts), new connections from that address are refused at
 * accept for a cool-off: the guard alone lets each new attacking connection's first read (up to
 * 64 KiB: hundreds to thousands of streams) be parsed before it can trip, and an attacker
 * reconnects at once. The cool-off doubles on each repeat offence (base, 2×base, … up to max) and
 * the record of an address is forgotten once it has behaved for as long again as its last
 * cool-off, so a one-off offender starts again from the base.
 *
 * Bounded: at most `maxEntries` addresses are remembered; a full map first drops the expired
 * records, then the one blocked longest ago (a Map keeps insertion order; a repeat offence
 * re-inserts). State per address: unknown → blocked (until) → remembered (offences) → forgotten.
 */

/** Settings of the penalty. */
export interface FloodPenaltyOptions {
  /** First cool-off in ms (0: no penalty). */
  baseMs: number;
  /** Longest cool-off in ms (default 10 minutes). */
  maxMs?: number;
  /** Addresses remembered at most (default 10 000). */
  maxEntries?: number;
}

interface Entry {
  /** Connections from the address are refused before this time. */
  until: number;
  /** Offences so far (1 after the first). */
  offences: number;
  /** The record is dropped at this time (until + the cool-off: as long again of good behaviour). */
  forgetAt: number;
}

/** What one offence cost: the cool-off and its place in the address's record. */
export interface Penalty {
  ms: number;
  offences: number;
}

/** The penalty map. */
export class FloodPenalty {
  private readonly baseMs: number;
  private readonly maxMs: number;
  private readonly maxEntries: number;
  private readonly entries = new Map<string, Entry>();

  constructor(options: FloodPenaltyOptions) {
    this.baseMs = options.baseMs;
    this.maxMs = Math.max(options.baseMs, options.maxMs ?? 600_000);
    this.maxEntries = Math.max(1, options.maxEntries ?? 10_000);
  }

  /** Addresses remembered now (blocked or within their forget time). */
  get size(): number {
    return this.entries.size;
  }

  /**
   * An offence by `address` at `now`: blocks it (base cool-off, doubled for each remembered earlier
   * offence). A second trip while already blocked (another connection accepted before the block)
   * is no new offence: undefined, and nothing changes.
   */
  offend(address: string, now: number): Penalty | undefined {
    if (this.baseMs <= 0 || address === '') return undefined;
    const prev = this.live(address, now);
    if (prev !== undefined && prev.until > now) return undefined;
    const offences = (prev?.offences ?? 0) + 1;
    const ms = Math.min(this.maxMs, this.baseMs * 2 ** Math.min(offences - 1, 40));
    this.entries.delete(address);
    if (this.entries.size >= this.maxEntries) this.evict(now);
    this.entries.set(address, { until: now + ms, offences, forgetAt: now + 2 * ms });
    return { ms, offences };
  }

  /** Whether connections from `address` are refused at `now`. */
  blocked(address: string, now: number): boolean {
    if (this.entries.size === 0) return false;
    const e = this.live(address, now);
    return e !== undefined && e.until > now;
  }

  /** The address's record, dropped when it is past its forget time. */
  private live(address: string, now: number): Entry | undefined {
    const e = this.entries.get(address);
    if (e !== undefined && e.forgetAt <= now) {
      this.entries.delete(address);
      return undefined;
    }
    return e;
  }

  /** Makes room for one: expired records first, else the oldest offence. */
  private evict(now: number): void {
    for (const [address, e] of this.entries) if (e.forgetAt <= now) this.entries.delete(address);
    if (this.entries.size < this.maxEntries) return;
    const oldest = this.entries.keys().next();
    if (oldest.done !== true) this.entries.delete(oldest.value);
  }
}
