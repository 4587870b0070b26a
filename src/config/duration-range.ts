/**
 * The check behind the config schema's `x-duration-range: { min, max }` keyword (schema-primitives.ts):
 * JSON Schema cannot compare "90s" with "1h". The precompiled validator
 * (config-validator.generated.ts, written by `npm run gen`) calls it for every duration.
 */
import { parseDuration } from '../core/duration.js';

/** Why `data` is outside `range`, or undefined when it is within it or is not a duration at all. */
export function durationRangeError(range: { min: string; max: string }, data: unknown): string | undefined {
  let ms: number;
  try {
    ms = parseDuration(data as string | number);
  } catch {
    return undefined; // the pattern or the type reports it
  }
  if (ms < parseDuration(range.min)) return `must be at least ${range.min}`;
  if (ms > parseDuration(range.max))
    return `must be at most ${range.max}${range.max === '24d' ? " (Node's timer limit is 24.8 days)" : ''}`;
  return undefined;
}
