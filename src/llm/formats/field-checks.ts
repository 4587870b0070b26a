/**
 * Small checks the validators share. Each returns a failed `Checked` naming the field, or
 * undefined when the value is acceptable. Absent and `null` optional fields are acceptable (both
 * APIs treat an explicit null as "not set").
 */
import { fail, type JsonObject } from './checked.js';

/** A failed check. */
export type Problem = ReturnType<typeof fail> | undefined;

/** A number range for `numberField`. */
export interface NumberRange {
  min?: number;
  max?: number;
  integer?: boolean;
}

function describe(v: unknown): string {
  const text = JSON.stringify(v);
  return text === undefined ? String(v) : text.length > 40 ? `${text.slice(0, 40)}…` : text;
}

/** An optional number within `range`. */
export function numberField(body: JsonObject, key: string, range: NumberRange): Problem {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  const kind = range.integer ? 'an integer' : 'a number';
  const ok = typeof v === 'number' && Number.isFinite(v) && (!range.integer || Number.isInteger(v));
  const low = range.min !== undefined && ok && (v as number) < range.min;
  const high = range.max !== undefined && ok && (v as number) > range.max;
  if (!ok || low || high) {
    const bounds = [
      range.min !== undefined ? `>= ${range.min}` : '',
      range.max !== undefined ? `<= ${range.max}` : '',
    ].filter(Boolean);
    const want = bounds.length > 0 ? `${kind} ${bounds.join(' and ')}` : kind;
    return fail(key, `${key}: must be ${want}, got ${describe(v)}`);
  }
  return undefined;
}

/** An optional boolean. */
export function booleanField(body: JsonObject, key: string, path = key): Problem {
  const v = body[key];
  if (v === undefined || v === null || typeof v === 'boolean') return undefined;
  return fail(path, `${path}: must be a boolean, got ${describe(v)}`);
}

/** An optional string. */
export function stringField(body: JsonObject, key: string, path = key): Problem {
  const v = body[key];
  if (v === undefined || v === null || typeof v === 'string') return undefined;
  return fail(path, `${path}: must be a string, got ${describe(v)}`);
}

/** A required non-empty string. */
export function requiredString(body: JsonObject, key: string, path = key): Problem {
  const v = body[key];
  if (typeof v === 'string' && v !== '') return undefined;
  if (v === undefined) return fail(path, `${path}: required`);
  return fail(path, `${path}: must be a non-empty string, got ${describe(v)}`);
}

/** An optional array of strings, at most `max` long. */
export function stringList(body: JsonObject, key: string, max: number): Problem {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v)) return fail(key, `${key}: must be an array of strings, got ${describe(v)}`);
  if (v.length > max) return fail(key, `${key}: at most ${max} entries, got ${v.length}`);
  const bad = v.findIndex((s) => typeof s !== 'string');
  if (bad >= 0) return fail(`${key}[${bad}]`, `${key}[${bad}]: must be a string, got ${describe(v[bad])}`);
  return undefined;
}

/** The first problem of several checks, in order. */
export function firstProblem(checks: ReadonlyArray<() => Problem>): Problem {
  for (const check of checks) {
    const problem = check();
    if (problem) return problem;
  }
  return undefined;
}

/** A value described for a message. */
export { describe as describeValue };
