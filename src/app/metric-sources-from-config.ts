/**
 * {@link createMetricSources} turns a service's `metrics:` config into the controller's
 * MetricSources. The wiring layer owns this mapping so src/sources/ knows its options, not the
 * config file's format (docs/architecture.md "Layers").
 */
import type { Dispatcher } from 'undici';
import type { MetricSource } from '../controller/metric-source.js';
import type { ServiceConfig } from '../config/schema.js';
import { LuascaleError } from '../core/errors.js';
import { parseDuration } from '../core/duration.js';
import { httpJsonSource, prometheusSource } from '../sources/index.js';

/** One entry of `services.<name>.metrics` as the config schema defines it. */
export type MetricSourceConfig = NonNullable<ServiceConfig['metrics']>[number];

/** Options of {@link createMetricSources}. */
export interface CreateMetricSourcesOptions {
  /** For tests or proxies; undici's global dispatcher otherwise. */
  dispatcher?: Dispatcher;
}

/**
 * Builds the sources of one service. Throws LS_ERR_CONFIG_INVALID (one line, naming
 * `services.<service>.metrics[i]`) for a config mistake: neither or both of `http`/`prometheus`,
 * a duplicate name, a bad URL or JSON path, a zero interval or timeout.
 */
export function createMetricSources(
  service: string,
  config: MetricSourceConfig[] | undefined,
  options: CreateMetricSourcesOptions = {},
): MetricSource[] {
  const seen = new Set<string>();
  return (config ?? []).map((c, i) => {
    const where = `services.${service}.metrics[${i}] (${c.name})`;
    const fail = (reason: string): never => {
      throw new LuascaleError(
        'LS_ERR_CONFIG_INVALID',
        { file: where, count: 1 },
        { message: `${where}: ${reason}` },
      );
    };
    if (seen.has(c.name)) fail(`duplicate metric name "${c.name}"`);
    seen.add(c.name);
    if (!c.http === !c.prometheus) fail('set exactly one of `http` or `prometheus`');
    let intervalMs = 0;
    let timeoutMs = 0;
    try {
      intervalMs = parseDuration(c.interval ?? '5s');
      timeoutMs = parseDuration(c.timeout ?? '2s');
    } catch (err) {
      fail((err as Error).message);
    }
    if (!(intervalMs > 0)) fail('interval must be > 0');
    if (!(timeoutMs > 0)) fail('timeout must be > 0');
    try {
      if (c.http) {
        return httpJsonSource({
          name: c.name,
          url: c.http.url,
          jsonPath: c.http.json_path,
          intervalMs,
          timeoutMs,
          dispatcher: options.dispatcher,
        });
      }
      return prometheusSource({
        name: c.name,
        url: c.prometheus!.url,
        query: c.prometheus!.query,
        intervalMs,
        timeoutMs,
        dispatcher: options.dispatcher,
      });
    } catch (err) {
      return fail((err as Error).message);
    }
  });
}
