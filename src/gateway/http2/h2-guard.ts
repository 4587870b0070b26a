/**
 * Per-connection flood counters for HTTP/2 (pure: the caller passes `now`). A connection that
 * resets streams, pings or sends SETTINGS faster than its limit is sent GOAWAY ENHANCE_YOUR_CALM
 * and closed (CVE-2023-44487 "rapid reset": a client opens and cancels streams at once, so its
 * requests cost the server work without ever counting against max concurrent streams).
 *
 * Each counter is a fixed window: `max` events per `windowMs`; the window restarts at the first
 * event after it ended. State per connection: counting → tripped (final).
 */

/** Limits of one kind of event. */
export interface FloodLimit {
  /** Events allowed per window. */
  max: number;
  windowMs: number;
}

/** Flood limits of a connection (each optional: unset = unlimited). */
export interface H2GuardOptions {
  /** Streams reset by the client (RST_STREAM) per window: the rapid-reset attack. */
  resets?: FloodLimit;
  /** PING frames per window. */
  pings?: FloodLimit;
  /** SETTINGS frames per window. */
  settings?: FloodLimit;
}

/** The kinds of events counted. */
export type FloodKind = 'resets' | 'pings' | 'settings';

/** One connection's counters. */
export class H2Guard {
  private readonly limits: H2GuardOptions;
  private readonly count = { resets: 0, pings: 0, settings: 0 };
  private readonly since = { resets: 0, pings: 0, settings: 0 };
  /** The kind that tripped, once one did. */
  tripped: FloodKind | undefined = undefined;

  constructor(limits: H2GuardOptions) {
    this.limits = limits;
  }

  /** Counts one event at `now`; true when it exceeds the limit (the connection is to be closed). */
  hit(kind: FloodKind, now: number): boolean {
    const limit = this.limits[kind];
    if (limit === undefined) return false;
    if (now - this.since[kind] >= limit.windowMs) {
      this.since[kind] = now;
      this.count[kind] = 0;
    }
    if (++this.count[kind] <= limit.max) return false;
    this.tripped ??= kind;
    return true;
  }
}
