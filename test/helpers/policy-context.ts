/** Test doubles for policies: PolicyContexts (a manual clock's `now`, no store) and a fixed history. */
import {
  completeObservation,
  emptyHistory,
  type HistoryReader,
  type Observation,
  type PolicyContext,
} from '../../src/policy/policy.js';

/** A context with `obs` filled in by `completeObservation`; state defaults to a fresh object. */
export function testContext(
  obs: Partial<Observation>,
  options: {
    now?: number;
    state?: Record<string, unknown>;
    min?: number;
    max?: number;
    history?: HistoryReader;
    service?: string;
  } = {},
): PolicyContext {
  return {
    service: options.service ?? 'svc',
    now: options.now ?? 0,
    min: options.min ?? 1,
    max: options.max ?? 100,
    observation: completeObservation(obs),
    params: {},
    state: options.state ?? {},
    history: options.history ?? emptyHistory,
  };
}

/** A history reader over a fixed per-second array ending at `end` (ms). */
export function arrayHistory(values: Record<string, number[]>, end: number): HistoryReader {
  return {
    stepSeconds: 1,
    series(metric, seconds, now) {
      const all = values[metric] ?? [];
      // values[i] is at time end - (len-1-i) s; return those in (now - seconds s, now]
      const out: number[] = [];
      for (let i = 0; i < all.length; i++) {
        const t = end - (all.length - 1 - i) * 1000;
        if (t > now - seconds * 1000 && t <= now) out.push(all[i]!);
      }
      return out;
    },
  };
}
