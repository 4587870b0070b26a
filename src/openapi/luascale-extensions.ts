/**
 * The luascale extensions of an OpenAPI document (`x-luascale-slo`, `x-luascale-rate-limit`,
 * `x-luascale-timeout`; OpenAPI Specification Extensions, `x-` fields), read and checked at one
 * level (document, path item or operation); the import merges the levels, the most specific winning.
 */
import { LuascaleError } from '../core/errors.js';
import { parseDuration } from '../core/duration.js';
import type { Slo } from '../policy/policy.js';
import type { ImportedRateLimit } from './import-openapi.js';

/** The luascale extensions read at one level of a document. */
export interface Ext {
  slo?: Slo;
  rateLimit?: ImportedRateLimit;
  timeoutMs?: number;
}

/** A value for an error message; a circular $ref (dereferenced into a cycle) cannot be JSON. */
export function show(v: unknown): string {
  try {
    return String(JSON.stringify(v)).slice(0, 80);
  } catch {
    return 'a circular $ref';
  }
}

/** The `x-luascale-slo`, `-rate-limit` and `-timeout` of `obj`, checked (errors name `file#pointer`). */
export function extensions(file: string, pointer: string, obj: any): Ext {
  const out: Ext = {};
  const bad = (key: string, reason: string) =>
    new LuascaleError('LS_ERR_OPENAPI_INVALID', { file, pointer: `${pointer}/${key}`, reason });
  const slo = obj['x-luascale-slo'];
  if (slo !== undefined) {
    if (!slo || typeof slo !== 'object') throw bad('x-luascale-slo', 'must be an object');
    const s: Slo = {};
    for (const [k, lim] of [
      ['latency_p95_ms', Infinity],
      ['latency_p99_ms', Infinity],
      ['ttft_p95_ms', Infinity],
      ['error_rate', 1],
      ['availability', 1],
    ] as const) {
      const v = slo[k];
      if (v === undefined) continue;
      if (typeof v !== 'number' || !(v > 0) || v > lim)
        throw bad(`x-luascale-slo/${k}`, `must be a number in (0, ${lim}], got ${show(v)}`);
      s[k] = v;
    }
    const unknown = Object.keys(slo).filter(
      (k) => !['latency_p95_ms', 'latency_p99_ms', 'ttft_p95_ms', 'error_rate', 'availability'].includes(k),
    );
    if (unknown.length)
      throw bad(
        `x-luascale-slo/${unknown[0]}`,
        'unknown field (latency_p95_ms, latency_p99_ms, ttft_p95_ms, error_rate, availability)',
      );
    out.slo = s;
  }
  const rl = obj['x-luascale-rate-limit'];
  if (rl !== undefined) {
    if (!rl || typeof rl !== 'object' || typeof rl.rps !== 'number' || !(rl.rps > 0))
      throw bad('x-luascale-rate-limit', 'must be { rps > 0, burst?, key? }');
    out.rateLimit = {
      rps: rl.rps,
      ...(rl.burst !== undefined ? { burst: Number(rl.burst) } : {}),
      ...(rl.key !== undefined ? { key: String(rl.key) } : {}),
    };
  }
  const to = obj['x-luascale-timeout'];
  if (to !== undefined) {
    try {
      out.timeoutMs = parseDuration(to);
    } catch {
      throw bad(
        'x-luascale-timeout',
        `must be a duration such as 5s or a number of seconds, got ${show(to)}`,
      );
    }
  }
  return out;
}

export function merge(...slos: Array<Slo | undefined>): Slo | undefined {
  const present = slos.filter((s): s is Slo => s !== undefined);
  return present.length ? Object.assign({}, ...present) : undefined;
}
