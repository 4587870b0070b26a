/**
 * Reads and validates a built-in's params. Every reader throws LS_ERR_POLICY_PARAMS with one line
 * naming the built-in, the key, what was expected and what was given, at load time, so a bad
 * config never reaches `evaluate()`.
 */
import { LuascaleError } from '../../core/errors.js';
import { parseDuration } from '../../core/duration.js';

/** A typed view of one built-in's params; each getter validates and applies the default. */
export interface ParamReader {
  /** The built-in's name, for messages. */
  readonly builtin: string;
  /** A finite number in [min, max] (inclusive unless `exclusiveMin`). */
  number(
    key: string,
    def: number | undefined,
    range?: { min?: number; max?: number; exclusiveMin?: boolean },
  ): number;
  /** Like `number`, but `undefined` when absent. */
  optionalNumber(
    key: string,
    range?: { min?: number; max?: number; exclusiveMin?: boolean },
  ): number | undefined;
  /** A non-empty string. */
  string(key: string, def: string | undefined): string;
  /** One of `choices`. */
  oneOf<T extends string>(key: string, choices: readonly T[], def: T | undefined): T;
  /** A duration (`15s`, `5m` or seconds as a number), in ms. */
  duration(key: string, defMs: number | undefined): number;
  /** A boolean. */
  boolean(key: string, def: boolean): boolean;
  /** The raw value, or undefined. */
  raw(key: string): unknown;
  /** Throws LS_ERR_POLICY_PARAMS with `reason`. */
  fail(reason: string): never;
  /** Rejects keys that are not in `known` (catches typos such as `tagret`). */
  onlyKeys(known: readonly string[]): void;
}

/** Throws the standard bad-params error for `builtin`. */
export function paramsError(builtin: string, reason: string): never {
  throw new LuascaleError('LS_ERR_POLICY_PARAMS', { name: builtin, reason });
}

function show(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

/** Wraps `params` (as given in config) for validated reads; `prefix` names nested params (`inner.`). */
export function paramReader(
  builtin: string,
  params: Readonly<Record<string, unknown>> | undefined,
  prefix = '',
): ParamReader {
  const p: Readonly<Record<string, unknown>> = params ?? {};
  if (typeof p !== 'object' || Array.isArray(p))
    paramsError(builtin, `${prefix || 'params'}: expected an object, got ${show(p)}`);
  const fail = (reason: string): never => paramsError(builtin, reason);
  function checkRange(
    key: string,
    n: number,
    range?: { min?: number; max?: number; exclusiveMin?: boolean },
  ): number {
    if (range?.min !== undefined && (range.exclusiveMin ? !(n > range.min) : !(n >= range.min)))
      fail(`${prefix}${key}: must be ${range.exclusiveMin ? '>' : '>='} ${range.min}, got ${n}`);
    if (range?.max !== undefined && !(n <= range.max))
      fail(`${prefix}${key}: must be <= ${range.max}, got ${n}`);
    return n;
  }
  const reader: ParamReader = {
    builtin,
    number(key, def, range) {
      const v = p[key];
      if (v === undefined || v === null) {
        if (def === undefined) fail(`${prefix}${key}: required (a number)`);
        return def as number;
      }
      const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
      if (typeof n !== 'number' || !Number.isFinite(n))
        fail(`${prefix}${key}: expected a number, got ${show(v)}`);
      return checkRange(key, n as number, range);
    },
    optionalNumber(key, range) {
      const v = p[key];
      if (v === undefined || v === null) return undefined;
      return reader.number(key, undefined, range);
    },
    string(key, def) {
      const v = p[key];
      if (v === undefined || v === null) {
        if (def === undefined) fail(`${prefix}${key}: required (a string)`);
        return def as string;
      }
      if (typeof v !== 'string' || v.trim() === '')
        fail(`${prefix}${key}: expected a non-empty string, got ${show(v)}`);
      return v as string;
    },
    oneOf(key, choices, def) {
      const v = p[key];
      if (v === undefined || v === null) {
        if (def === undefined) fail(`${prefix}${key}: required (one of ${choices.join(', ')})`);
        return def as (typeof choices)[number];
      }
      if (typeof v !== 'string' || !(choices as readonly string[]).includes(v))
        fail(`${prefix}${key}: expected one of ${choices.join(', ')}, got ${show(v)}`);
      return v as (typeof choices)[number];
    },
    duration(key, defMs) {
      const v = p[key];
      if (v === undefined || v === null) {
        if (defMs === undefined) fail(`${prefix}${key}: required (a duration such as 30s)`);
        return defMs as number;
      }
      if (typeof v !== 'string' && typeof v !== 'number')
        fail(`${prefix}${key}: expected a duration such as 30s, got ${show(v)}`);
      try {
        return parseDuration(v as string | number);
      } catch {
        return fail(`${prefix}${key}: expected a duration such as 30s or 5m, got ${show(v)}`);
      }
    },
    boolean(key, def) {
      const v = p[key];
      if (v === undefined || v === null) return def;
      if (typeof v !== 'boolean') fail(`${prefix}${key}: expected true or false, got ${show(v)}`);
      return v as boolean;
    },
    raw(key) {
      return p[key];
    },
    fail,
    onlyKeys(known) {
      for (const k of Object.keys(p)) {
        if (!known.includes(k)) fail(`${prefix}${k}: unknown parameter (known: ${known.join(', ')})`);
      }
    },
  };
  return reader;
}
