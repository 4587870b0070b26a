/**
 * Token budgets of consumers (issue 19): the contract between the front door and the limiters.
 *
 * A request **reserves** what it can cost at most before it is forwarded: its prompt tokens
 * (counted with the offline tokenizer, count-prompt-tokens.ts) plus `max_tokens` (or the model's
 * default), and the cost of that. When the response ends, or is cut, the front door **settles** the
 * reservation to the real usage: the difference is given back (or, when the estimate was low,
 * charged). Every limit of the consumer, and of the consumer × model, is checked and charged in
 * one step (one Lua script in cluster mode), so concurrent requests and N gateways never admit
 * more than one budget. The anchors charge after the response instead, and admit every request
 * that arrives while the counter is still low (docs/llm.md, "Budgets and their accuracy").
 *
 * Reservation life: reserve ──ok──▶ held (counts against every window it was charged to)
 *                                        └──settle(actual)──▶ settled (the windows hold `actual`)
 * A reservation is settled once; a second settle is ignored.
 */

/** A reserve call: `now` is epoch ms (calendar windows are UTC days and months). */
export interface ReserveRequest {
  consumer: string;
  model: string;
  /** Prompt tokens + max_tokens (or the model's default). */
  tokens: number;
  /** The most the request can cost (costOf over the same counts); 0 or absent when unpriced. */
  costUsd?: number;
  now: number;
}

/** One window a reservation was charged to (opaque to callers; limiters read it back on settle). */
export interface Charge {
  /** Which limit, as named in a denial (`tokens_per_minute`, `models.gpt-4o.cost_per_day_usd`). */
  readonly limit: string;
  /** The window's storage key (consumer, limit and window start). */
  readonly key: string;
  /** What was charged: tokens, or USD for cost limits. */
  readonly amount: number;
  readonly unit: 'tokens' | 'usd';
  readonly window: 'minute' | 'day' | 'month';
}

/** An admitted request's hold on its consumer's budgets. */
export interface Reservation {
  /** Unique across gateways: the entry of the sliding minute windows. */
  readonly id: string;
  readonly consumer: string;
  readonly model: string;
  readonly tokens: number;
  readonly costUsd: number;
  readonly charges: readonly Charge[];
  /** Set by settle: a second settle is a no-op. */
  settled: boolean;
}

/** Admitted: the reservation and the RateLimit-* headers of the tightest limit (none without limits). */
export interface ReserveAllowed {
  ok: true;
  reservation: Reservation;
  headers: Record<string, string>;
}

/** Refused: the limit that refused, when to retry, and the 429's headers (Retry-After, RateLimit-*). */
export interface ReserveDenied {
  ok: false;
  /** The limit's name, as in the config under `consumers.<name>.limits`. */
  limit: string;
  retryAfterS: number;
  headers: Record<string, string>;
  /**
   * Set when the request alone is larger than the whole limit (`amount` > `limit`, in the limit's
   * unit): no retry can succeed, so the front door answers 400 naming the largest `max_tokens`
   * that fits instead of 429. `retryAfterS` is still the whole window, for callers that ignore it.
   */
  exceeds?: { limit: number; unit: 'tokens' | 'usd'; amount: number };
}

/** The verdict of reserve. */
export type ReserveVerdict = ReserveAllowed | ReserveDenied;

/** The real usage of a request, to settle its reservation to. */
export interface SettleActual {
  /** Prompt + output tokens as the backend reported them (or as delivered, for a cut stream). */
  tokens: number;
  costUsd: number;
  now: number;
}

/** Reserves at admission, settles at the end; in memory or in Redis (cluster mode). */
export interface TokenLimiter {
  /** Checks every limit of the consumer and the consumer × model and charges them all, or none. */
  reserve(request: ReserveRequest): Promise<ReserveVerdict>;
  /** Replaces the reservation's charges with the real usage (charging the difference). */
  settle(reservation: Reservation, actual: SettleActual): Promise<void>;
}
