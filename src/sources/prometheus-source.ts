/**
 * A metric from a PromQL instant query (GET /api/v1/query, Prometheus HTTP API v1). The answer must
 * be one number: a `scalar`, or a `vector` with exactly one sample. An empty vector (no series
 * matched) and a vector with several samples are errors that say so, because guessing (first? sum?)
 * would scale on a number nobody asked for; aggregate in the query (`sum(...)`, `max(...)`) instead.
 */
import type { Dispatcher } from 'undici';
import type { MetricSource } from '../controller/metric-source.js';
import { cachedSource } from './cached-source.js';
import { LuascaleError } from '../core/errors.js';
import { answerError, getJson } from './get-json.js';
import { parseHttpUrl, redactUrl } from './http-url.js';

/** Options of {@link prometheusSource}. */
export interface PrometheusSourceOptions {
  /** The ctx.metrics name. */
  name: string;
  /** The Prometheus base URL, e.g. `http://127.0.0.1:9090` (a path prefix such as `/prom` is kept). */
  url: string;
  query: string;
  intervalMs: number;
  timeoutMs: number;
  dispatcher?: Dispatcher;
}

/** Builds the instant-query URL: `<base>/api/v1/query?query=...&timeout=...`. */
export function instantQueryUrl(base: string, query: string, timeoutMs?: number): URL {
  const u = parseHttpUrl(base);
  u.pathname = u.pathname.replace(/\/+$/, '') + '/api/v1/query';
  u.search = '';
  u.searchParams.set('query', query);
  // Prometheus's own evaluation timeout, so a heavy query is cancelled server-side too.
  if (timeoutMs !== undefined) u.searchParams.set('timeout', `${Math.max(1, Math.floor(timeoutMs))}ms`);
  return u;
}

/** Reads the single number out of a /api/v1/query answer; throws saying what was there instead. */
export function instantQueryValue(body: unknown): number {
  const b = body as {
    status?: unknown;
    errorType?: unknown;
    error?: unknown;
    data?: { resultType?: unknown; result?: unknown };
  };
  if (b === null || typeof b !== 'object') throw answerError('answer is not a Prometheus API object');
  if (b.status === 'error')
    throw answerError(`Prometheus error (${String(b.errorType)}): ${String(b.error)}`);
  if (b.status !== 'success' || !b.data || typeof b.data !== 'object')
    throw answerError('answer is not a Prometheus API success object');
  const { resultType, result } = b.data;
  let sample: unknown;
  if (resultType === 'scalar') {
    sample = result;
  } else if (resultType === 'vector') {
    if (!Array.isArray(result)) throw answerError('vector result is not an array');
    if (result.length === 0)
      throw answerError('query returned no series (empty vector); check the selector, or add `or vector(0)`');
    if (result.length > 1) {
      const shown = result
        .slice(0, 3)
        .map((r) => JSON.stringify((r as { metric?: unknown }).metric ?? {}))
        .join(', ');
      throw answerError(
        `query returned ${result.length} series (${shown}${result.length > 3 ? ', …' : ''}); aggregate it to one, e.g. sum(...)`,
      );
    }
    sample = (result[0] as { value?: unknown }).value;
  } else {
    throw answerError(`query returned a ${String(resultType)}; expected a scalar or a one-element vector`);
  }
  if (!Array.isArray(sample) || sample.length !== 2 || typeof sample[1] !== 'string')
    throw answerError('malformed sample');
  // Prometheus sends sample values as strings; NaN and ±Inf are legal there but not a metric value here.
  const v = Number(sample[1]);
  if (!Number.isFinite(v)) throw answerError(`query returned ${sample[1]}, not a finite number`);
  return v;
}

/** Creates the source; the URL is checked here so a typo fails at start. */
export function prometheusSource(options: PrometheusSourceOptions): MetricSource {
  const url = instantQueryUrl(options.url, options.query, options.timeoutMs);
  const label = `metric source "${options.name}" (Prometheus ${redactUrl(parseHttpUrl(options.url))}, query ${options.query})`;
  return cachedSource({
    name: options.name,
    intervalMs: options.intervalMs,
    timeoutMs: options.timeoutMs + 250,
    async fetch() {
      try {
        // 400 (bad_data) and 422 (execution) carry the error object in their JSON body.
        const { body } = await getJson(url.href, {
          timeoutMs: options.timeoutMs,
          dispatcher: options.dispatcher,
          acceptStatus: (s) => s === 400 || s === 422 || s === 503,
        });
        return instantQueryValue(body);
      } catch (err) {
        throw new LuascaleError(
          'LS_ERR_SOURCE_FAILED',
          { source: label, reason: (err as Error).message },
          { cause: err },
        );
      }
    },
  });
}
