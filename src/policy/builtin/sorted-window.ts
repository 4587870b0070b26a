/** Helpers for the time-ordered FIFOs and sorted copies the predictive built-in keeps (ascending arrays). */

/** Removes the leading entries of `times` (ascending) at or before `cutoff`, and as many of each of `parallel`. */
export function dropThrough(cutoff: number, times: number[], ...parallel: unknown[][]): void {
  let n = 0;
  while (n < times.length && times[n]! <= cutoff) n++;
  if (n === 0) return;
  times.splice(0, n);
  for (const a of parallel) a.splice(0, n);
}

/** First index of `xs` (ascending) whose value is >= `v`. */
export function lowerBound(xs: number[], v: number): number {
  let lo = 0;
  let hi = xs.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (xs[mid]! < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Appends `v` at time `t` to a monotonic deque (values decreasing), dropping the entries it dominates. */
export function pushWindowMax(times: number[], values: number[], t: number, v: number): void {
  while (values.length > 0 && values[values.length - 1]! <= v) {
    values.pop();
    times.pop();
  }
  times.push(t);
  values.push(v);
}
