/** Shared helpers for the sandbox tests: a PolicyContext builder and a fake history. */
import {
  completeObservation,
  emptyHistory,
  type HistoryReader,
  type Observation,
  type PolicyContext,
} from '../../src/policy/policy.js';

/** A context for `observation` (missing fields are zero), bounds 1..10 unless given. */
export function contextFor(
  observation: Partial<Observation>,
  extra: Partial<PolicyContext> = {},
): PolicyContext {
  return {
    service: 'web',
    now: 1_700_000_000_000,
    min: 1,
    max: 10,
    observation: completeObservation(observation),
    params: {},
    state: {},
    history: emptyHistory,
    ...extra,
  };
}

/** A history whose every metric is `f(i)` for the i-th second of the window (oldest first). */
export function fakeHistory(f: (metric: string, i: number) => number): HistoryReader {
  return {
    stepSeconds: 1,
    series: (metric, seconds) => Array.from({ length: Math.floor(seconds) }, (_, i) => f(metric, i)),
  };
}
