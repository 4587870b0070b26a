/**
 * What the Lua API's `get_metric`, `ctx.history` and `ctx.forecast` read: a metric of the current
 * observation by name, its recent history, and a forecast from that history.
 */
import { fitForecast, forecastAhead } from '../metrics/forecast.js';
import type { HistoryReader, Observation } from '../policy/policy.js';
import { signalSpec } from '../signals/index.js';

/** Current value of `name`: a custom metric first, then a load field (`cpu`, `latency.p95`, ...). */
export function currentMetric(observation: Observation, name: string): number | undefined {
  const custom = observation.metrics?.[name];
  if (typeof custom === 'number') return custom;
  const dot = name.indexOf('.');
  const bag = observation as unknown as Record<string, unknown>;
  const value =
    dot < 0
      ? bag[name]
      : (bag[name.slice(0, dot)] as Record<string, unknown> | undefined)?.[name.slice(dot + 1)];
  return typeof value === 'number' ? value : undefined;
}

/** What a lookup reads besides the metric's name: a PolicyContext fits, so a call allocates nothing. */
export interface MetricScope {
  history: HistoryReader;
  observation: Observation;
  now: number;
}

/** Mean of `metric` over the last `windowS` seconds, or its current value when nothing is recorded. */
export function windowMean(scope: MetricScope, metric: string, windowS: number): number | undefined {
  const series = scope.history.series(metric, windowS, scope.now);
  if (series.length === 0) return currentMetric(scope.observation, metric);
  let sum = 0;
  for (const v of series) sum += v;
  return sum / series.length;
}

/** Options of forecastMetric: how far ahead, and from how much history. */
export interface ForecastOptions {
  horizonS: number;
  /** Seconds of history to fit; default max(600, 4 × horizonS). */
  windowS?: number;
  /** A season's length in seconds: Holt-Winters when the window holds two of them. */
  seasonS?: number;
}

/**
 * Forecast of `metric` `horizonS` seconds ahead from the last `windowS` seconds of history:
 * Holt's linear trend (Hyndman & Athanasopoulos §8.2) through src/metrics/forecast.ts, or Holt-Winters
 * when `seasonS` is given and the window holds two seasons. With fewer than 4 points it returns
 * the last recorded value (or the current one): a forecast never invents a trend from nothing.
 */
export function forecastMetric(
  scope: MetricScope,
  metric: string,
  { horizonS, windowS, seasonS }: ForecastOptions,
): number | undefined {
  const { history } = scope;
  const step = history.stepSeconds > 0 ? history.stepSeconds : 1;
  const window = windowS ?? Math.max(600, 4 * horizonS);
  const series = history.series(metric, window, scope.now);
  const h = Math.max(1, Math.round(horizonS / step));
  const model = fitForecast(series, { season: seasonS ? Math.round(seasonS / step) : 0, horizon: h });
  if (!model) return series.length > 0 ? series[series.length - 1] : currentMetric(scope.observation, metric);
  const [low, high] = metricRange(metric, series);
  return Math.min(high, Math.max(low, forecastAhead(model, h)));
}

/**
 * The range a forecast of `metric` is clamped to (a trend extrapolated past zero is not a
 * forecast): a catalogue signal is a rate, level, percentage, latency, ratio or count, never
 * negative, and a unit written `a..b` (error_rate's `0..1`) bounds it above; a custom metric is
 * held at 0 when its history never went negative.
 */
export function metricRange(metric: string, series: readonly number[]): [number, number] {
  const spec = signalSpec(metric);
  if (spec) {
    const bounded = /^(-?[\d.]+)\.\.(-?[\d.]+)$/.exec(spec.unit);
    return bounded ? [Number(bounded[1]), Number(bounded[2])] : [0, Infinity];
  }
  for (const v of series) if (v < 0) return [-Infinity, Infinity];
  return [0, Infinity];
}
