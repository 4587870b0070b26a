/**
 * A consumer's token and cost limits (`consumers.<name>.limits`, and `.models.<model>`) as a flat
 * list of windows to check, and the pure window arithmetic both TokenLimiters share.
 *
 * Windows:
 * - `minute`: sliding, exact. Every reservation is an entry (time, amount); the window holds the
 *   entries of the last 60 s, so tokens admitted in ANY 60 s span never exceed the limit (plus what
 *   settle adds when a prompt estimate was low). A fixed minute admits up to 2× across a boundary,
 *   a refilling bucket up to 2× over a minute.
 * - `day`, `month`: fixed UTC calendar windows (a budget resets at 00:00 UTC, and on the 1st).
 */
import { rateLimitHeaders } from '../../gateway/admission/rate-limit-headers.js';
import type { ReserveDenied } from './token-limiter.js';

/** Token and cost limits of one scope: the config's field names (consumers-schema.ts). */
export interface TokenLimitFields {
  tokens_per_minute?: number;
  tokens_per_day?: number;
  tokens_per_month?: number;
  cost_per_day_usd?: number;
  cost_per_month_usd?: number;
}

/** `consumers.<name>.limits` as the limiter reads it (the config's type fits). */
export interface ConsumerLimitsLike extends TokenLimitFields {
  models?: Readonly<Record<string, TokenLimitFields | undefined>>;
}

/** The window of a limit. */
export type WindowKind = 'minute' | 'day' | 'month';

/** One limit to check. */
export interface LimitSpec {
  /** As named in the config, relative to `limits` (`tokens_per_minute`, `models.m.cost_per_day_usd`). */
  name: string;
  unit: 'tokens' | 'usd';
  window: WindowKind;
  limit: number;
}

const FIELDS: ReadonlyArray<[keyof TokenLimitFields, 'tokens' | 'usd', WindowKind]> = [
  ['tokens_per_minute', 'tokens', 'minute'],
  ['tokens_per_day', 'tokens', 'day'],
  ['tokens_per_month', 'tokens', 'month'],
  ['cost_per_day_usd', 'usd', 'day'],
  ['cost_per_month_usd', 'usd', 'month'],
];

/** The limits that apply to `consumer` on `model`: its own, then the model's. */
export function limitsFor(limits: ConsumerLimitsLike | undefined, model: string): LimitSpec[] {
  if (limits === undefined) return [];
  const out: LimitSpec[] = [];
  const add = (scope: TokenLimitFields | undefined, prefix: string) => {
    if (scope === undefined) return;
    for (const [field, unit, window] of FIELDS) {
      const limit = scope[field];
      if (limit !== undefined) out.push({ name: prefix + field, unit, window, limit });
    }
  };
  add(limits, '');
  if (limits.models !== undefined && Object.hasOwn(limits.models, model))
    add(limits.models[model], `models.${model}.`);
  return out;
}

/** The sliding window's span. */
export const MINUTE_MS = 60_000;

/** A calendar window: its id (part of the storage key), start and end (epoch ms, UTC). */
export function calendarWindow(
  kind: 'day' | 'month',
  now: number,
): { id: string; start: number; end: number } {
  const d = new Date(now);
  const y = d.getUTCFullYear();
  const m = d.getUTCMonth();
  if (kind === 'day') {
    const start = Date.UTC(y, m, d.getUTCDate());
    return { id: new Date(start).toISOString().slice(0, 10), start, end: start + 86_400_000 };
  }
  const start = Date.UTC(y, m, 1);
  return { id: new Date(start).toISOString().slice(0, 7), start, end: Date.UTC(y, m + 1, 1) };
}

/** The window's length in seconds (for RateLimit-Policy's `w`). */
export function windowSeconds(spec: LimitSpec, now: number): number {
  if (spec.window === 'minute') return MINUTE_MS / 1000;
  const w = calendarWindow(spec.window, now);
  return Math.round((w.end - w.start) / 1000);
}

/** The storage key of a limit's window for `consumer` (the minute window has one key, not per window). */
export function windowKey(consumer: string, spec: LimitSpec, now: number): string {
  const base = `${consumer}:${spec.name}`;
  return spec.window === 'minute' ? base : `${base}:${calendarWindow(spec.window, now).id}`;
}

/** One limit's state as a verdict reads it. */
export interface LimitState {
  spec: LimitSpec;
  /** Charged in the window now (after this reservation when allowed). */
  used: number;
  /** Seconds until the window is whole again (calendar: its end; minute: the newest entry ages out). */
  resetS: number;
}

/**
 * RateLimit-Limit/Remaining/Reset (src/gateway/admission/rate-limit-headers.ts), Retry-After when
 * denied, and RateLimit-Policy naming the limit (`1000;w=60;name="tokens_per_minute"`: the quota,
 * the window in seconds and, as an extension parameter the drafts allow, which limit it is).
 */
export function limitHeaders(state: LimitState, now: number, retryAfterS?: number): Record<string, string> {
  const { spec } = state;
  const h = rateLimitHeaders({
    ok: retryAfterS === undefined,
    limit: spec.limit,
    remaining: Math.max(
      0,
      spec.unit === 'usd' ? round6(spec.limit - state.used) : Math.floor(spec.limit - state.used),
    ),
    resetS: Math.max(0, Math.ceil(state.resetS)),
    retryAfterS: retryAfterS ?? 0,
  });
  h['ratelimit-policy'] = `${spec.limit};w=${windowSeconds(spec, now)};name="${spec.name}"`;
  return h;
}

/** The state whose remaining share of its limit is smallest: the one the headers describe. */
export function tightest(states: readonly LimitState[]): LimitState | undefined {
  let best: LimitState | undefined;
  let bestShare = Infinity;
  for (const s of states) {
    const share = (s.spec.limit - s.used) / s.spec.limit;
    if (share < bestShare) {
      best = s;
      bestShare = share;
    }
  }
  return best;
}

function round6(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}

/** What a reservation charges a limit: its tokens, or its cost for a USD limit. */
export function amountFor(spec: LimitSpec, tokens: number, costUsd: number): number {
  return spec.unit === 'usd' ? costUsd : tokens;
}

/**
 * The first limit the request can never fit, however long it waits: its reservation alone is more
 * than the whole limit (a 429 "retry later" would be a lie; the front door answers 400).
 */
export function oversized(
  specs: readonly LimitSpec[],
  tokens: number,
  costUsd: number,
): LimitSpec | undefined {
  return specs.find((spec) => amountFor(spec, tokens, costUsd) > spec.limit);
}

/** The denial of a request larger than a whole limit (`exceeds` set; Retry-After is the whole window). */
export function oversizedDenial(
  spec: LimitSpec,
  r: { tokens: number; costUsd: number; now: number },
): ReserveDenied {
  const resetS =
    spec.window === 'minute' ? MINUTE_MS / 1000 : (calendarWindow(spec.window, r.now).end - r.now) / 1000;
  const retryAfterS = Math.max(1, Math.ceil(resetS));
  return {
    ok: false,
    limit: spec.name,
    retryAfterS,
    headers: limitHeaders({ spec, used: 0, resetS }, r.now, retryAfterS),
    exceeds: { limit: spec.limit, unit: spec.unit, amount: amountFor(spec, r.tokens, r.costUsd) },
  };
}
