/** Parses durations such as `250ms`, `15s`, `5m`, `1h`, `1d` or a bare number of seconds into ms. */
export function parseDuration(value: string | number): number {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0) throw new RangeError(`not a duration: ${value}`);
    return value * 1000;
  }
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/.exec(value);
  if (!m) throw new RangeError(`not a duration: "${value}" (expected e.g. 250ms, 15s, 5m, 1h)`);
  const n = Number(m[1]);
  const unit = m[2] ?? 's';
  const factor = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[unit]!;
  return n * factor;
}

/** The JSON Schema pattern accepted by {@link parseDuration} for strings. */
export const DURATION_PATTERN = '^\\s*\\d+(\\.\\d+)?\\s*(ms|s|m|h|d)?\\s*$';

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
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(value.trim());
  if (!m)
    throw new RangeError(`not a duration: "${value}" (expected a number and a unit, e.g. 30s, 10m, 2h, 1d)`);
  const ms = parseDuration(value);
  if (!(ms >= 1)) throw new RangeError(`must be at least 1ms, got "${value}"`);
  if (ms > MAX_CLI_DURATION_MS) throw new RangeError(`must be at most 365d, got "${value}"`);
  return ms;
}
