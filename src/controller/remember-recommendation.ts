/** The recommendation history behind the HPA stabilization windows (stage 6 of decide()). */
import type { DecisionState } from './decision.js';

type Recommendation = DecisionState['recommendations'][number];

/**
 * Appends a recommendation, drops those older than the longest window, and drops every entry that
 * can never decide a window again. The windows are suffixes of the time-ordered list, and the
 * maximum of any suffix is attained at an entry strictly greater than everything after it (the
 * last occurrence of that maximum); likewise the minimum. So an entry with both a later entry ≥ it
 * and a later entry ≤ it is dominated in both directions for as long as it could be in a window:
 * the min/max of every window is unchanged and the list stays short (a steady service keeps one
 * entry; a noisy one keeps the running extremes) instead of one entry per tick. This is the
 * monotonic-queue trick for sliding-window min/max, with both queues in one list.
 */
export function rememberRecommendation(
  recs: readonly Recommendation[],
  replicas: number,
  now: number,
  longestWindowMs: number,
): Recommendation[] {
  const cutoff = now - longestWindowMs;
  let first = 0;
  while (first < recs.length && !(recs[first]!.t > cutoff)) first++;
  // Scan backwards from the new entry, keeping strict suffix maxima and strict suffix minima.
  const kept: Recommendation[] = [{ t: now, replicas }];
  let hi = replicas;
  let lo = replicas;
  for (let i = recs.length - 1; i >= first; i--) {
    const r = recs[i]!;
    if (r.replicas > hi || r.replicas < lo) kept.push(r);
    if (r.replicas > hi) hi = r.replicas;
    if (r.replicas < lo) lo = r.replicas;
  }
  return kept.reverse();
}
