/** The admin commands' argument values: replica counts, page sizes, points in time, TTLs, event ids. */
import { parseCliDuration } from '../../core/duration.js';
import { badArgument } from '../bad-argument.js';

/** A replica count as typed: plain decimal digits only (no `0x2`, `" 2"`, `1e1`, `2.0`). */
export function parseReplicas(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n))
    throw badArgument('<replicas>', `must be a whole number >= 0 or "auto", got "${value}"`);
  return n;
}

/** `--limit`: a whole number 1..1000 (the API's page size). */
export function parseLimit(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > 1000)
    throw badArgument('--limit', `must be a whole number from 1 to 1000, got "${value}"`);
  return Number(value);
}

/** `--since`: a duration back from `now` (10m, 2h) or an ISO 8601 time; returns epoch ms. */
export function parseSince(value: string, now: number): number {
  if (/^\d{4}-\d\d-\d\d/.test(value.trim())) {
    const t = Date.parse(value);
    if (Number.isFinite(t)) return t;
  } else {
    try {
      return now - parseCliDuration(value);
    } catch {
      // fall through to one message for both forms
    }
  }
  throw badArgument(
    '--since',
    `expected a duration back from now (10m, 2h, 1d) or an ISO time (2026-01-31T12:00:00Z), got "${value}"`,
  );
}

/** `--ttl` in ms: positive, at most a year. */
export function parseTtl(value: string): number {
  try {
    return parseCliDuration(value);
  } catch (err) {
    throw badArgument('--ttl', (err as Error).message);
  }
}

/** `--after`: an event id. */
export function parseAfter(value: string): number {
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(Number(value)))
    throw badArgument('--after', `must be an event id (a whole number), got "${value}"`);
  return Number(value);
}
