/**
 * Times as people read them in decision messages, events, log lines, the dashboard and the CLI:
 * a span as `58 s` or `4 min 30 s`, an instant as `12:01:05Z` (UTC, so a log line means the same
 * on every host and in the simulator), never raw epoch milliseconds. Pure: `now` is passed in.
 */

const UNITS: ReadonlyArray<readonly [string, number]> = [
  ['d', 86_400_000],
  ['h', 3_600_000],
  ['min', 60_000],
  ['s', 1000],
];

/**
 * A span for people, in at most two whole units: `250 ms`, `58 s`, `4 min 30 s`, `2 h 5 min`,
 * `3 d 4 h`. Spans of a second or more are rounded up to the second, so a span that has not
 * ended never reads `0 s`.
 */
export function formatSpan(ms: number): string {
  if (!Number.isFinite(ms)) return String(ms);
  if (ms < 0) return `-${formatSpan(-ms)}`;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  let rest = Math.ceil(ms / 1000) * 1000;
  const parts: string[] = [];
  for (const [unit, size] of UNITS) {
    if (parts.length === 2) break;
    if (rest >= size || parts.length > 0) {
      const n = Math.floor(rest / size);
      rest -= n * size;
      if (n > 0) parts.push(`${n} ${unit}`);
      else if (parts.length > 0) break;
    }
  }
  return parts.join(' ');
}

/**
 * An instant (epoch ms) for people, in UTC: `12:01:05Z` on the same UTC day as `now`, else
 * `2026-12-08 12:01:05Z`.
 */
export function formatInstant(at: number, now: number): string {
  if (!Number.isFinite(at)) return String(at);
  const iso = new Date(Math.floor(at / 1000) * 1000).toISOString(); // 2026-12-08T12:01:05.000Z
  const sameDay = Number.isFinite(now) && new Date(now).toISOString().slice(0, 10) === iso.slice(0, 10);
  return sameDay ? `${iso.slice(11, 19)}Z` : `${iso.slice(0, 10)} ${iso.slice(11, 19)}Z`;
}

/** Until when and for how long, from `now`: `until 12:01:05Z (58 s left)`. */
export function formatUntil(until: number, now: number): string {
  return `until ${formatInstant(until, now)} (${formatSpan(Math.max(0, until - now))} left)`;
}
