/**
 * Reads every custom metric source once, in parallel, each bounded by its timeout (default: one
 * scaling interval), so a hung source never stalls the control loop.
 */
import { LuascaleError } from '../core/errors.js';
import type { MetricSource } from './metric-source.js';

/** Where the reads land: the last good value per source, or its error; a source has one or the other. */
export interface MetricSourceReadings {
  values: Record<string, number>;
  errors: Record<string, string>;
}

/** Options of {@link readMetricSources}. */
export interface ReadMetricSourcesOptions {
  now: number;
  /** The timeout of a source without its own `timeoutMs` (the scaling interval). */
  timeoutMs: number;
  /** Updated in place: a success sets the value and clears the error, a failure the reverse. */
  into: MetricSourceReadings;
}

/** Reads `sources` at `now` into `options.into`; never rejects. */
export async function readMetricSources(
  sources: readonly MetricSource[],
  options: ReadMetricSourcesOptions,
): Promise<void> {
  const { now, into } = options;
  await Promise.all(
    sources.map(async (s) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      try {
        const ms = s.timeoutMs ?? options.timeoutMs;
        const timeout = new Promise<never>((_, fail) => {
          timer = setTimeout(() => fail(new LuascaleError('LS_ERR_SOURCE_TIMEOUT', { ms })), ms);
        });
        const v = await Promise.race([s.read(now), timeout]);
        if (!Number.isFinite(v))
          throw new LuascaleError('LS_ERR_SOURCE_ANSWER', { reason: `not a number: ${v}` });
        into.values[s.name] = v;
        delete into.errors[s.name];
      } catch (err) {
        // A failing source never crashes the loop: its value goes missing and an alert follows.
        delete into.values[s.name];
        into.errors[s.name] = (err as Error).message;
      } finally {
        clearTimeout(timer);
      }
    }),
  );
}
