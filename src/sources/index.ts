/**
 * Custom metric sources (public surface): the HTTP JSON source, the PromQL source and the cache,
 * each an implementation of the controller's MetricSource. The wiring layer turns a service's
 * `metrics:` config into sources (src/app/metric-sources-from-config.ts).
 */

export { httpJsonSource, type HttpJsonSourceOptions } from './http-json-source.js';
export {
  prometheusSource,
  instantQueryUrl,
  instantQueryValue,
  type PrometheusSourceOptions,
} from './prometheus-source.js';
export { cachedSource, type CachedSourceOptions } from './cached-source.js';
export { parseJsonPath, selectNumber, formatJsonPath, type JsonPathSegment } from './json-path.js';
