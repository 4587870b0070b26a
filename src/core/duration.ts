const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
// One or more `<number><unit>` parts, largest first or not (`1m30s`, `1h30m`, `2m 30s`), as Go's
// time.ParseDuration and docker-compose accept them; `ms` is tried before `m`.
const PART = /(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)/g;
const COMPOUND = /^(?:\d+(?:\.\d+)?\s*(?:ms|s|m|h|d)\s*)+$/;

/**
 * Parses durations such as `250ms`, `15s`, `5m`, `1h`, `1d`, compound ones such as `1m30s` or
 * `1h30m`, or a bare number of seconds, into ms.
 */
export function parseDuration(value: string | number): number {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0) throw new RangeError(`not a duration: ${value}`);
    return value * 1000;
  }
  const text = value.trim();
  if (/^\d+(?:\.\d+)?$/.test(text)) return Number(text) * 1000;
  if (!COMPOUND.test(text))
    throw new RangeError(`not a duration: "${value}" (expected e.g. 250ms, 15s, 5m, 1h, 1m30s)`);
  let ms = 0;
  for (const m of text.matchAll(PART)) ms += Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS];
  return ms;
}

/** The JSON Schema pattern accepted by {@link parseDuration} for strings. */
export const DURATION_PATTERN = '^\\s*(\\d+(\\.\\d+)?|(\\d+(\\.\\d+)?\\s*(ms|s|m|h|d)\\s*)+)\\s*$';

/**
 * The longest timer Node.js can arm: a setTimeout/setInterval delay above 2^31-1 ms (24.8 days)
 * is replaced by 1 ms, which turns a long interval into a busy loop.
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** Formats ms for people: `1.5s`, `5m`, `250ms`. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${+(ms / 1000).toFixed(2)}s`;
  if (ms < 3_600_000) return `${+(ms / 60_000).toFixed(2)}m`;
  if (ms < 2 * 86_400_000) return `${+(ms / 3_600_000).toFixed(2)}h`;
  return `${+(ms / 86_400_000).toFixed(2)}d`;
}

/** The longest TTL or look-back the CLI accepts (a year): beyond it a date overflows or means "forever". */
export const MAX_CLI_DURATION_MS = 365 * 86_400_000;

/**
 * Parses a duration a person typed for a CLI flag (`--ttl`, `--since`): like {@link parseDuration} but
 * strictly positive and at most {@link MAX_CLI_DURATION_MS}. Throws a RangeError whose message says
 * what was expected.
 */
export function parseCliDuration(value: string): number {
  // A unit is required here (a bare number is ambiguous on a command line); compound is fine.
  if (!COMPOUND.test(value.trim()))
    throw new RangeError(
      `not a duration: "${value}" (expected a number and a unit, e.g. 30s, 10m, 2h, 1d, 1h30m)`,
    );
  const ms = parseDuration(value);
  if (!(ms >= 1)) throw new RangeError(`must be at least 1ms, got "${value}"`);
  if (ms > MAX_CLI_DURATION_MS) throw new RangeError(`must be at most 365d, got "${value}"`);
  return ms;
}
