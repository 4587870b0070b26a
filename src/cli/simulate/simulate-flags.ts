/** `luascale simulate`'s flags: what commander hands over, and their values checked (exit 2 on a bad one). */
import { isLuascaleError } from '../../core/errors.js';
import { parseDuration } from '../../core/duration.js';
import { badArgument } from '../bad-argument.js';
import type { ModelParams } from '../../simulator/simulate.js';
import { DEFAULT_MODEL } from '../../simulator/model-defaults.js';
import { parseValue, scalingOverrides } from '../../simulator/simulation-policy.js';

export { collect, DEFAULT_LIMITS } from './flag-defaults.js';

/** Options as commander hands them over (all strings; defaults are applied here). */
export interface SimulateFlags {
  trace: string;
  scale?: string;
  policy?: string;
  set: string[];
  capacity?: string;
  serviceMs?: string;
  startup?: string;
  sloP95Ms?: string;
  queueTimeout?: string;
  min?: string;
  max?: string;
  seed?: string;
  interval?: string;
  initial?: string;
  start?: string;
  json?: boolean;
  report?: string;
  compare?: string;
  config?: string;
  service?: string;
  progress?: boolean;
  decisions?: string;
  behavior?: string;
  slo?: string;
  /** Token traces: the engine (JSON or a JSON file). */
  engine?: string;
  /** Token traces: the TTFT p95 objective, ms. */
  ttftSloMs?: string;
}

/** The flags' values, checked; `min`/`max` stay undefined when not given (a config may set them). */
export interface SimulateArgs {
  scale: number;
  seed: number | undefined;
  min: number | undefined;
  max: number | undefined;
  intervalMs: number | undefined;
  initial: number | undefined;
  startMs: number;
  model: ModelParams;
  /** `--set` params. */
  params: Record<string, unknown>;
  overrides: ReturnType<typeof scalingOverrides>;
}

/** Checks every flag's value (exit 2) before any file is read. */
export function parseSimulateFlags(flags: SimulateFlags): SimulateArgs {
  // Every argument value is checked (exit 2) before the trace file is read (exit 1 on its errors).
  // At most 1e9 (as a trace's rps): the product stays finite, so no summary field turns to null.
  const scale = num(flags.scale, '--scale', 1, { min: 0, exclusiveMin: true, max: 1e9 });
  const seed = flags.seed === undefined ? undefined : int(flags.seed, '--seed', 0, {});
  const min = flags.min === undefined ? undefined : int(flags.min, '--min', 0, { min: 0 });
  const max = flags.max === undefined ? undefined : int(flags.max, '--max', 0, { min: 1 });
  const intervalMs = flags.interval === undefined ? undefined : duration(flags.interval, '--interval');
  const initial = flags.initial === undefined ? undefined : int(flags.initial, '--initial', 0, { min: 0 });
  const startMs = flags.start === undefined ? 0 : startTime(flags.start);
  const model: ModelParams = {
    capacity: num(flags.capacity, '--capacity', DEFAULT_MODEL.capacity, { min: 0, exclusiveMin: true }),
    serviceMs: num(flags.serviceMs, '--service-ms', DEFAULT_MODEL.serviceMs, { min: 0, exclusiveMin: true }),
    startupS: num(flags.startup, '--startup', DEFAULT_MODEL.startupS, { min: 0 }),
    sloP95Ms: num(flags.sloP95Ms, '--slo-p95-ms', DEFAULT_MODEL.sloP95Ms, { min: 0, exclusiveMin: true }),
    queueTimeoutS: num(flags.queueTimeout, '--queue-timeout', DEFAULT_MODEL.queueTimeoutS, { min: 0 }),
    drainS: DEFAULT_MODEL.drainS,
  };
  const params: Record<string, unknown> = {};
  for (const kv of flags.set ?? []) {
    const eq = kv.indexOf('=');
    if (eq <= 0) throw badArgument('--set', `expected key=value, got "${kv}"`);
    params[kv.slice(0, eq)] = parseValue(kv.slice(eq + 1));
  }
  if (flags.config !== undefined && !flags.service) throw badArgument('-c/--config', 'needs --service NAME');
  let overrides: ReturnType<typeof scalingOverrides> = {};
  try {
    overrides = scalingOverrides({ behavior: flags.behavior, slo: flags.slo });
  } catch (err) {
    if (isLuascaleError(err))
      throw badArgument(
        flags.behavior !== undefined ? '--behavior' : '--slo',
        String(err.details.reason).replace(/^--\w+: /, ''),
      );
    throw err;
  }
  if (flags.sloP95Ms === undefined && overrides.slo?.latency_p95_ms !== undefined)
    model.sloP95Ms = overrides.slo.latency_p95_ms;
  return { scale, seed, min, max, intervalMs, initial, startMs, model, params, overrides };
}

/** `--compare A,B`: the non-empty items of a comma-separated list. */
export function splitList(s: string | undefined): string[] {
  if (!s) return [];
  return s
    .split(',')
    .map((x) => x.trim())
    .filter((x) => x !== '');
}

/** A number flag, `dflt` when absent, at least (or above) `o.min`. */
export function num(
  v: string | undefined,
  flag: string,
  dflt: number,
  o: { min?: number; exclusiveMin?: boolean; max?: number },
): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n)) throw badArgument(flag, `expected a number, got "${v}"`);
  if (o.min !== undefined && (o.exclusiveMin ? n <= o.min : n < o.min))
    throw badArgument(flag, `must be ${o.exclusiveMin ? '>' : '>='} ${o.min}, got ${v}`);
  if (o.max !== undefined && n > o.max) throw badArgument(flag, `must be <= ${o.max}, got ${v}`);
  return n;
}

/** A whole-number flag. */
export function int(v: string, flag: string, dflt: number, o: { min?: number }): number {
  const n = num(v, flag, dflt, o);
  if (!Number.isInteger(n)) throw badArgument(flag, `expected a whole number, got "${v}"`);
  return n;
}

/** A duration flag of at least 1 s, in ms. */
export function duration(v: string, flag: string): number {
  try {
    const ms = parseDuration(v);
    if (ms < 1000) throw new RangeError('below 1s');
    return ms;
  } catch {
    throw badArgument(flag, `expected a duration of at least 1s such as 15s or 1m, got "${v}"`);
  }
}

/** `--start`: an ISO date or epoch seconds, in epoch ms. */
export function startTime(v: string): number {
  const ms = /^\d+$/.test(v) ? Number(v) * 1000 : Date.parse(v);
  if (!Number.isFinite(ms)) throw badArgument('--start', `expected an ISO date or epoch seconds, got "${v}"`);
  return ms;
}
