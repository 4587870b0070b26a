/**
 * The polling shell shared by every metric source: the controller may tick every second, but a
 * source configured with `interval: 5s` is fetched at most once per 5 s. The last outcome (a value
 * or an error) is kept until the interval has passed since that fetch started, and concurrent reads
 * share one fetch. Time comes in as `now` (house style: pure core, time passed in).
 *
 * States: empty → fetching → fresh (value or error) → stale (next read fetches again).
 */
import type { MetricSource } from '../controller/metric-source.js';

/** What a concrete source supplies: one fetch, and how to describe itself in errors. */
export interface CachedSourceOptions {
  name: string;
  intervalMs: number;
  /** Passed on as `MetricSource.timeoutMs` (the controller's backstop). */
  timeoutMs?: number;
  fetch(): Promise<number>;
}

/** Wraps `fetch` as a MetricSource that caches its outcome for `intervalMs`. */
export function cachedSource(options: CachedSourceOptions): MetricSource {
  let fetchedAt = -Infinity;
  let outcome: Promise<number> | null = null;
  return {
    name: options.name,
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    read(now: number): Promise<number> {
      if (outcome === null || now - fetchedAt >= options.intervalMs || now < fetchedAt) {
        fetchedAt = now;
        outcome = options.fetch();
        // Keep the rejection handled here; each caller still sees it through the returned promise.
        outcome.catch(() => {});
      }
      return outcome;
    },
  };
}
