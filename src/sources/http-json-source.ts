/** A metric read from any HTTP endpoint that answers JSON: GET `url`, pick a number with a JSON path. */
import type { Dispatcher } from 'undici';
import type { MetricSource } from '../controller/metric-source.js';
import { LuascaleError } from '../core/errors.js';
import { cachedSource } from './cached-source.js';
import { getJson } from './get-json.js';
import { formatJsonPath, parseJsonPath, selectNumber } from './json-path.js';
import { parseHttpUrl, redactUrl } from './http-url.js';

/** Options of {@link httpJsonSource}. */
export interface HttpJsonSourceOptions {
  /** The ctx.metrics name. */
  name: string;
  url: string;
  /** See json-path.ts for the accepted subset, e.g. `$.queue.depth` or `data.items[0].value`. */
  jsonPath: string;
  /** Fetch at most once per interval (ms); reads in between return the cached outcome. */
  intervalMs: number;
  timeoutMs: number;
  dispatcher?: Dispatcher;
}

/**
 * Creates the source. The URL and path are checked here, so a typo fails at start; fetch errors
 * later name the source, the URL (without credentials) and the path.
 */
export function httpJsonSource(options: HttpJsonSourceOptions): MetricSource {
  const segments = parseJsonPath(options.jsonPath);
  const url = parseHttpUrl(options.url);
  const label = `metric source "${options.name}" (GET ${redactUrl(url)}, path ${formatJsonPath(segments)})`;
  return cachedSource({
    name: options.name,
    intervalMs: options.intervalMs,
    // A little over our own timeout, so our clearer message wins the race with the controller's.
    timeoutMs: options.timeoutMs + 250,
    async fetch() {
      try {
        const { body } = await getJson(url.href, {
          timeoutMs: options.timeoutMs,
          dispatcher: options.dispatcher,
        });
        return selectNumber(body, segments);
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
