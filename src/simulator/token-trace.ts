/**
 * A token trace: CSV with header `t,context_tokens,generated_tokens`, one row per request, `t` in
 * seconds (fractions allowed) from the start, non-decreasing; the token counts whole and >= 0
 * (`../shared/traces/azure-llm-code-2023-11-16-1h-tokens.csv` is one). CRLF endings are accepted,
 * and so are the public traces' own shapes (see isTokenTraceText): the columns under their names
 * and in any order, extra columns ignored, `t` as ISO-8601 (Azure's `TIMESTAMP`), epoch seconds or
 * ms (counted from the first request), gzip, and JSON Lines (Mooncake's, `timestamp` in ms).
 *
 * `expandTokenTrace` scales it: each request stands for `scale` requests, its whole copies plus
 * one more with the fractional part's probability, each copy at a seeded uniform offset within
 * `spreadS` (1 s by default) after the original, so that a scaled second has the shape of the
 * original second without k identical requests in the same millisecond. The same seed gives the
 * same requests.
 */
import {
  columnKey,
  contentLines,
  detectSeparator,
  Grow,
  isAbsolute,
  pickColumn,
  readTraceText,
  splitFields,
  TIME_MS_NAMES,
  TIME_NAMES,
  timeReader,
  traceError,
} from './trace-table.js';
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
  /** Wall-clock time of t = 0 (the first request) in epoch ms, when the trace's times are dates. */
  startMs?: number;
}

/** Names the token columns go by (after columnKey): Azure's, BurstGPT's, Mooncake's, OpenAI's usage. */
const CONTEXT_NAMES = [
  'contexttokens',
  'prompttokens',
  'inputtokens',
  'requesttokens',
  'inputlength',
  'inputlen',
  'promptlength',
  'promptlen',
  'numprompttokens',
];
const GENERATED_NAMES = [
  'generatedtokens',
  'outputtokens',
  'completiontokens',
  'responsetokens',
  'outputlength',
  'outputlen',
  'numgeneratedtokens',
];
const MAX_DAYS = 731;
const MAX_TOKENS = 0xffffffff;

interface Columns {
  time: number;
  context: number;
  generated: number;
  msColumn: boolean;
}

/** The time, context and generated columns of a header, or undefined when it is not a token trace's. */
function tokenColumns(names: string[], file: string, line: number, jsonl = false): Columns | undefined {
  const keys = names.map(columnKey);
  const o = { file, line };
  const context = pickColumn(keys, CONTEXT_NAMES, { ...o, what: 'context_tokens' });
  const generated = pickColumn(keys, GENERATED_NAMES, { ...o, what: 'generated_tokens' });
  if (context === undefined || generated === undefined) return undefined;
  const time =
    pickColumn(keys, TIME_NAMES, { ...o, what: 't' }) ?? pickColumn(keys, TIME_MS_NAMES, { ...o, what: 't' });
  if (time === undefined) {
    traceError(
      file,
      line,
      `a token trace needs a time column: t (seconds; also time, timestamp), got "${names.join(',').slice(0, 80)}"`,
    );
  }
  // Mooncake's JSONL traces give `timestamp` in milliseconds.
  const msColumn = TIME_MS_NAMES.includes(keys[time]!) || (jsonl && keys[time] === 'timestamp');
  return { time, context, generated, msColumn };
}

/** The first content line: a CSV header or, for JSON Lines, the first object's keys. */
function head(text: string, file: string) {
  const first = contentLines(text).next();
  if (first.done) return undefined;
  const { line, text: s } = first.value;
  if (s.startsWith('{')) {
    const obj = jsonRow(s, file, line);
    const names = Object.keys(obj);
    return { line, names, jsonl: true, columns: tokenColumns(names, file, line, true) };
  }
  const sep = detectSeparator(s);
  const names = splitFields(s, sep);
  return { line, names, sep, jsonl: false, columns: tokenColumns(names, file, line) };
}

function jsonRow(s: string, file: string, line: number): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(s);
  } catch (err) {
    traceError(file, line, `not JSON: ${(err as Error).message}`);
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v))
    traceError(file, line, 'expected a JSON object');
  return v as Record<string, unknown>;
}

/**
 * Whether `text` is a token trace: its header (or first JSON line) names a time, a context and a
 * generated token column (`t,context_tokens,generated_tokens`, Azure's
 * `TIMESTAMP,ContextTokens,GeneratedTokens`, BurstGPT's `Request tokens,Response tokens`,
 * Mooncake's `input_length,output_length`). Only the first content line is looked at.
 */
export function isTokenTraceText(text: string): boolean {
  try {
    return head(text, '<trace>')?.columns !== undefined;
  } catch {
    return false;
  }
}

/** Parses token-trace text; a problem is one LuascaleError naming the file and the 1-based line. */
export function parseTokenTrace(text: string, file = '<trace>'): TokenTrace {
  const h = head(text, file);
  if (!h?.columns) traceError(file, h?.line ?? 1, `missing header: expected "${TOKEN_TRACE_HEADER}"`);
  const col = h.columns;
  const width = h.names.length;
  const time = timeReader({ file, msColumn: col.msColumn });
  const t = new Grow();
  let prevText = '';
  const c = new Grow();
  const g = new Grow();
  const lines = contentLines(text);
  if (!h.jsonl) lines.next(); // JSON Lines have no header line: the first object is a request
  for (const { line: row, text: line } of lines) {
    let ts: string, cs: string, gs: string;
    if (h.jsonl) {
      const obj = jsonRow(line, file, row);
      const at = (name: string) => (obj[name] === undefined ? '' : String(obj[name]));
      [ts, cs, gs] = [at(h.names[col.time]!), at(h.names[col.context]!), at(h.names[col.generated]!)];
    } else {
      const parts = splitFields(line, h.sep!);
      if (parts.length !== width) {
        const n = width === 3 ? 'three' : String(width);
        traceError(
          file,
          row,
          `expected ${n} values "${h.names.join(',').slice(0, 60)}", got "${line.slice(0, 40)}"`,
        );
      }
      [ts, cs, gs] = [parts[col.time]!, parts[col.context]!, parts[col.generated]!];
    }
    const at = time.read(ts, row);
    if (at < 0) traceError(file, row, `t must be a number of seconds >= 0, got "${ts}"`);
    if (t.length > 0 && at < t.last())
      traceError(file, row, `t must not decrease: ${ts} follows ${prevText} (sort the rows by t)`);
    const tokens = (v: string, name: string) => {
      if (!/^\d+$/.test(v) || Number(v) > MAX_TOKENS)
        traceError(
          file,
          row,
          `${name} must be a whole number from 0 to ${MAX_TOKENS}, got "${v.slice(0, 40)}"`,
        );
      return Number(v);
    };
    c.push(tokens(cs, 'context_tokens'));
    g.push(tokens(gs, 'generated_tokens'));
    t.push(at);
    prevText = ts;
  }
  if (t.length === 0) traceError(file, h.line + 1, `no rows after the header "${TOKEN_TRACE_HEADER}"`);
  // Dates (ISO-8601, epoch seconds or ms) count from the first request.
  const times = t.done();
  const t0 = isAbsolute(time.unit(), times[0]!) ? times[0]! : 0;
  const last = t.last() - t0;
  if (last > MAX_DAYS * 86_400)
    traceError(
      file,
      h.line + 1,
      `the trace spans ${Math.round(last / 86_400).toLocaleString('en-US')} days, more than ${MAX_DAYS}; if t is in milliseconds, name the column t_ms`,
    );
  return {
    file,
    t: times.map((x) => x - t0),
    context: Uint32Array.from(c.done()),
    generated: Uint32Array.from(g.done()),
    durationSeconds: Math.max(1, Math.ceil(last + 1e-9)),
    ...(t0 > 0 ? { startMs: t0 * 1000 } : {}),
  };
}

/** Reads a token trace file (a missing file is a one-line user error). */
export function readTokenTrace(file: string): TokenTrace {
  return parseTokenTrace(readText(file), file);
}

/** Reads a trace file's text (gzip too), or throws the CLI's one-line error. */
export function readText(file: string): string {
  return readTraceText(file);
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
  // Columns, not one [at, context, generated] array per request: 5 million requests fit in ~100 MB.
  const at = new Grow();
  const from = new Grow();
  for (let i = 0; i < trace.t.length; i++) {
    const copies = whole + (frac > 0 && random() < frac ? 1 : 0);
    const base = trace.t[i]! * 1000;
    for (let k = 0; k < copies; k++) {
      // The first copy keeps the original time when the scale is 1 or more (scale 1 replays it exactly).
      at.push(k === 0 && whole >= 1 ? base : base + random() * spread);
      from.push(i);
    }
  }
  const times = at.done();
  const source = from.done();
  // Arrival order; equal times keep the order they were made in (a stable sort, as before).
  const order = Uint32Array.from({ length: times.length }, (_, j) => j).sort(
    (x, y) => times[x]! - times[y]! || x - y,
  );
  return {
    atMs: Float64Array.from(order, (j) => times[j]!),
    context: Uint32Array.from(order, (j) => trace.context[source[j]!]!),
    generated: Uint32Array.from(order, (j) => trace.generated[source[j]!]!),
  };
}
