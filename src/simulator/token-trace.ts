/**
 * A token trace: CSV with header `t,context_tokens,generated_tokens`, one row per request, `t` in
 * seconds (fractions allowed) from the start, non-decreasing; the token counts whole and >= 0
 * (`../shared/traces/azure-llm-code-2023-11-16-1h-tokens.csv` is one). CRLF endings are accepted.
 *
 * `expandTokenTrace` scales it: each request stands for `scale` requests, its whole copies plus
 * one more with the fractional part's probability, each copy at a seeded uniform offset within
 * `spreadS` (1 s by default) after the original, so that a scaled second has the shape of the
 * original second without k identical requests in the same millisecond. The same seed gives the
 * same requests.
 */
import { readFileSync } from 'node:fs';
import { LuascaleError } from '../core/errors.js';
import { seededRandom } from './random.js';

/** The header a token trace starts with. */
export const TOKEN_TRACE_HEADER = 't,context_tokens,generated_tokens';

/** A parsed token trace, in arrival order. */
export interface TokenTrace {
  file: string;
  /** Arrival, seconds from the start. */
  t: Float64Array;
  context: Uint32Array;
  generated: Uint32Array;
  /** Seconds from 0 to the last arrival, at least 1. */
  durationSeconds: number;
}

/** Whether `text` starts with a token trace's header (after blank lines and a BOM). */
export function isTokenTraceText(text: string): boolean {
  // Only the first non-blank line is looked at: no split of a month-long request trace.
  const first = /^\uFEFF?(?:[ \t\r]*\n)*([^\n]*)/.exec(text)?.[1] ?? '';
  return first.trim().toLowerCase().replace(/\s+/g, '') === TOKEN_TRACE_HEADER;
}

function fail(file: string, row: number, reason: string): never {
  throw new LuascaleError('LS_ERR_TRACE_INVALID', { file, row, reason });
}

/** Parses token-trace text; a problem is one LuascaleError naming the file and the 1-based line. */
export function parseTokenTrace(text: string, file = '<trace>'): TokenTrace {
  const lines = text.replace(/^\uFEFF/, '').split('\n');
  let first = 0;
  while (first < lines.length && lines[first]!.trim() === '') first++;
  if (!isTokenTraceText(lines.slice(first).join('\n')))
    fail(file, first + 1, `missing header: expected "${TOKEN_TRACE_HEADER}"`);
  const t: number[] = [];
  const c: number[] = [];
  const g: number[] = [];
  for (let i = first + 1; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '') continue;
    const parts = line.split(',');
    if (parts.length !== 3)
      fail(file, i + 1, `expected three values "${TOKEN_TRACE_HEADER}", got "${line.slice(0, 40)}"`);
    const [ts, cs, gs] = parts.map((p) => p.trim()) as [string, string, string];
    const at = /^\d+(\.\d*)?$/.test(ts) ? Number(ts) : NaN;
    if (!Number.isFinite(at)) fail(file, i + 1, `t must be a number of seconds >= 0, got "${ts}"`);
    if (t.length > 0 && at < t[t.length - 1]!)
      fail(file, i + 1, `t must not decrease: ${at} follows ${t[t.length - 1]}`);
    if (!/^\d+$/.test(cs)) fail(file, i + 1, `context_tokens must be a whole number >= 0, got "${cs}"`);
    if (!/^\d+$/.test(gs)) fail(file, i + 1, `generated_tokens must be a whole number >= 0, got "${gs}"`);
    t.push(at);
    c.push(Number(cs));
    g.push(Number(gs));
  }
  if (t.length === 0) fail(file, first + 2, `no rows after the header "${TOKEN_TRACE_HEADER}"`);
  return {
    file,
    t: Float64Array.from(t),
    context: Uint32Array.from(c),
    generated: Uint32Array.from(g),
    durationSeconds: Math.max(1, Math.ceil(t[t.length - 1]! + 1e-9)),
  };
}

/** Reads a token trace file (a missing file is a one-line user error). */
export function readTokenTrace(file: string): TokenTrace {
  return parseTokenTrace(readText(file), file);
}

/** Reads a trace file's text, or throws the CLI's one-line error. */
export function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new LuascaleError('LS_ERR_CLI_INPUT', {
      where: file,
      reason: code === 'ENOENT' ? 'trace file not found' : `cannot read trace: ${(err as Error).message}`,
    });
  }
}

/** The requests of a scaled trace, in arrival order (ms), as columns. */
export interface ExpandedRequests {
  atMs: Float64Array;
  context: Uint32Array;
  generated: Uint32Array;
}

/** `scale` × the trace's requests (see the header); `seed` picks the copies' offsets. */
export function expandTokenTrace(
  trace: TokenTrace,
  o: { scale?: number; seed?: number; spreadS?: number } = {},
): ExpandedRequests {
  const scale = o.scale ?? 1;
  const spread = (o.spreadS ?? 1) * 1000;
  const random = seededRandom(o.seed ?? 0);
  const whole = Math.floor(scale);
  const frac = scale - whole;
  const rows: Array<[number, number, number]> = [];
  for (let i = 0; i < trace.t.length; i++) {
    const copies = whole + (frac > 0 && random() < frac ? 1 : 0);
    const base = trace.t[i]! * 1000;
    for (let k = 0; k < copies; k++) {
      // The first copy keeps the original time when the scale is 1 or more (scale 1 replays it exactly).
      const at = k === 0 && whole >= 1 ? base : base + random() * spread;
      rows.push([at, trace.context[i]!, trace.generated[i]!]);
    }
  }
  rows.sort((a, b) => a[0] - b[0]);
  return {
    atMs: Float64Array.from(rows, (r) => r[0]),
    context: Uint32Array.from(rows, (r) => r[1]),
    generated: Uint32Array.from(rows, (r) => r[2]),
  };
}
