/**
 * Downsampling tiers as pure data and arithmetic: which tier serves a window, where buckets
 * start. A tier keeps, per bucket of `stepSeconds`, the sum, count and max of the samples in it
 * (mergeable, so the mean and max of any coarser bucket are exact).
 */
import { LuascaleError } from '../core/errors.js';

/** One resolution: buckets of `stepSeconds`, kept for `keepSeconds`. */
export interface HistoryTier {
  stepSeconds: number;
  keepSeconds: number;
}

/** Retention of the store: history tiers (finest first) and how long events are kept. */
export interface RetentionOptions {
  tiers?: HistoryTier[];
  /** Events older than this are pruned. */
  eventsKeepSeconds?: number;
}

/** 1 s for 1 h, 1 min for 30 days (the example); events for 30 days. */
export const DEFAULT_TIERS: readonly HistoryTier[] = Object.freeze([
  { stepSeconds: 1, keepSeconds: 3600 },
  { stepSeconds: 60, keepSeconds: 30 * 86_400 },
]);

/** Events are kept as long as the coarsest default tier. */
export const DEFAULT_EVENTS_KEEP_SECONDS = 30 * 86_400;

/**
 * Checks tiers: whole seconds, finest first, each step a multiple of the previous one (so a
 * coarse bucket is a union of fine ones) and each kept at least as long as the previous one.
 */
export function validateTiers(tiers: readonly HistoryTier[], file: string): HistoryTier[] {
  const bad = (reason: string): never => {
    throw new LuascaleError('LS_ERR_STORE_OPEN', { file, reason: `retention: ${reason}` });
  };
  if (tiers.length === 0) bad('at least one tier is required');
  const out: HistoryTier[] = [];
  for (const [i, t] of tiers.entries()) {
    if (!Number.isInteger(t.stepSeconds) || t.stepSeconds < 1)
      bad(`tiers[${i}].stepSeconds must be a whole number >= 1, got ${t.stepSeconds}`);
    if (!Number.isInteger(t.keepSeconds) || t.keepSeconds < t.stepSeconds) {
      bad(
        `tiers[${i}].keepSeconds must be a whole number >= stepSeconds (${t.stepSeconds}), got ${t.keepSeconds}`,
      );
    }
    const prev = out[i - 1];
    if (prev && (t.stepSeconds <= prev.stepSeconds || t.stepSeconds % prev.stepSeconds !== 0)) {
      bad(
        `tiers[${i}].stepSeconds (${t.stepSeconds}) must be a larger multiple of tiers[${i - 1}].stepSeconds (${prev.stepSeconds})`,
      );
    }
    if (prev && t.keepSeconds < prev.keepSeconds)
      bad(`tiers[${i}].keepSeconds must be >= tiers[${i - 1}].keepSeconds`);
    out.push({ stepSeconds: t.stepSeconds, keepSeconds: t.keepSeconds });
  }
  return out;
}

/** The finest tier that keeps `seconds` of history, else the one that keeps the longest. */
export function chooseTier(tiers: readonly HistoryTier[], seconds: number): HistoryTier {
  for (const t of tiers) if (t.keepSeconds >= seconds) return t;
  return tiers[tiers.length - 1]!;
}

/** The bucket (start second) of a tier that holds second `sec`. */
export function bucketOf(sec: number, stepSeconds: number): number {
  return Math.floor(sec / stepSeconds) * stepSeconds;
}

/**
 * Start seconds of the `seconds`-long window ending in the bucket holding `nowMs`: [first, last].
 * `first > last` (no bucket) when `seconds <= 0`.
 */
export function windowBuckets(
  seconds: number,
  nowMs: number,
  stepSeconds: number,
): { first: number; last: number } {
  const last = bucketOf(Math.floor(nowMs / 1000), stepSeconds);
  const n = Number.isFinite(seconds) && seconds > 0 ? Math.ceil(seconds / stepSeconds) : 0;
  return { first: last - (n - 1) * stepSeconds, last };
}
