/**
 * A request-rate trace: CSV with header `t,rps`, `t` whole seconds from the start (the start of
 * the bucket), `rps` the mean rate over the bucket. Rows come at one fixed resolution; a row that
 * is missing (t jumps by more than the resolution) is a gap.
 *
 * Other shapes are read too (trace-table.ts): gzip, `#` comments, quoted fields, other separators,
 * the columns in any order under other names (time/timestamp, rate/qps, or a count per row), and
 * times as epoch seconds, epoch milliseconds or ISO-8601.
 *
 * Gap rule: a gap holds the last value (the rate of the row before it) until the next row. The
 * shared traces leave out whole collection outages (Twitter loses 23:31–24:00 every day); holding
 * the last value keeps a diurnal curve smooth where zero would invent a nightly outage.
 */
import {
  columnKey,
  contentLines,
  detectSeparator,
  Grow,
  isAbsolute,
  isValue,
  pickColumn,
  readTraceText,
  splitFields,
  TIME_MS_NAMES,
  TIME_NAMES,
  timeReader,
  toNumber,
  traceError,
} from './trace-table.js';
import { isTokenTraceText, TOKEN_TRACE_HEADER } from './token-trace.js';

/** A parsed trace: bucket starts and rates, plus what the parser learned about its shape. */
export interface Trace {
  /** The file it came from (for messages and reports). */
  file: string;
  /** Bucket start times in whole seconds, strictly increasing, starting at `t[0]` (usually 0). */
  t: Float64Array;
  /** Mean requests per second over each bucket, >= 0. */
  rps: Float64Array;
  /** The resolution: the most common step between rows (ties: the smaller), in seconds. */
  stepSeconds: number;
  /** Seconds from `t[0]` to the end of the last bucket. */
  durationSeconds: number;
  /** Gaps (rows left out), each as [start, end) in seconds, held at the last value. */
  gaps: Array<[number, number]>;
  /** Wall-clock time of `t[0]` in epoch ms, when the trace's times are dates (ISO-8601, epoch seconds or ms). */
  startMs?: number;
  /** How the file was read where that is not plain `t,rps` (milliseconds, a count column), for the output. */
  notes?: string[];
}

const RATE_NAMES = ['rps', 'rate', 'qps', 'requestspersecond', 'reqpersec', 'reqpers', 'arrivalrate'];
const COUNT_NAMES = ['count', 'requests', 'invocations', 'hits', 'arrivals', 'calls', 'numrequests'];
const MAX_DAYS = 731;
/** Above any real service's rate: a value this large is a unit mistake or a corrupt row. */
const MAX_RATE = 1e9;

/** Which column is which: t and the rate (or a count per row, divided by the resolution). */
function columns(fields: string[], file: string, line: number) {
  const keys = fields.map(columnKey);
  const o = { file, line };
  const time =
    pickColumn(keys, TIME_NAMES, { ...o, what: 't' }) ?? pickColumn(keys, TIME_MS_NAMES, { ...o, what: 't' });
  const rate = pickColumn(keys, RATE_NAMES, { ...o, what: 'the rate' });
  const count = rate === undefined ? pickColumn(keys, COUNT_NAMES, { ...o, what: 'the count' }) : undefined;
  if (time === undefined || (rate ?? count) === undefined) {
    const got = truncate(fields.join(','));
    const why = fields.every(isValue)
      ? `the first line is a row; add the header line "t,rps"${fields.length === 3 ? ` (or "${TOKEN_TRACE_HEADER}" for one row per request)` : ''}`
      : isTokenTraceText(fields.join(','))
        ? 'this is a per-request token trace, which `luascale simulate` replays; here a request rate is needed'
        : `cannot tell which column is t (seconds, epoch seconds or ms, ISO-8601; also time, timestamp) and which the rate (rps; also rate, qps; or count: requests per row)`;
    traceError(file, line, `missing header: expected "t,rps", got "${got}": ${why}`);
  }
  return {
    time,
    value: (rate ?? count)!,
    isCount: rate === undefined,
    msColumn: TIME_MS_NAMES.includes(keys[time]!),
  };
}

/** Parses trace text; every problem is one LuascaleError naming the file and the 1-based line. */
export function parseTrace(text: string, file = '<trace>'): Trace {
  const lines = contentLines(text);
  const head = lines.next();
  if (head.done) traceError(file, 1, 'empty file: expected a header line "t,rps" and at least one row');
  const sep = detectSeparator(head.value.text);
  const fields = splitFields(head.value.text, sep);
  const col = columns(fields, file, head.value.line);
  const time = timeReader({ file, msColumn: col.msColumn });
  const valueName = col.isCount ? fields[col.value]! : 'rps';
  const ts = new Grow();
  let prevText = '';
  const rs = new Grow();
  for (const { line: row, text: line } of lines) {
    const parts = splitFields(line, sep);
    if (parts.length !== fields.length) {
      fail(
        file,
        row,
        `expected ${count(fields.length)} values "${truncate(fields.join(','))}", got "${truncate(line)}"`,
      );
    }
    const tText = parts[col.time]!;
    const rText = parts[col.value]!;
    const t = time.read(tText, row);
    const r = toNumber(rText);
    if (r === undefined) fail(file, row, `${valueName} is not a number: "${truncate(rText)}"`);
    if (t < 0) fail(file, row, `t must be >= 0, got ${t}`);
    if (Math.abs(t - Math.round(t)) > 1e-6) fail(file, row, `t must be whole seconds, got ${tText}`);
    if (r < 0) fail(file, row, `${valueName} must be >= 0, got ${r}`);
    if (r > MAX_RATE) fail(file, row, `${valueName} must be at most ${MAX_RATE} (a billion), got ${rText}`);
    const prev = ts.length ? ts.last() : undefined;
    if (prev !== undefined && Math.round(t) <= prev) {
      const sorted = Math.round(t) === prev ? 'two rows for one time' : 'sort the rows by t';
      fail(file, row, `t must increase: ${tText} follows ${prevText} (${sorted})`);
    }
    prevText = tText;
    ts.push(Math.round(t));
    rs.push(r);
  }
  if (ts.length === 0) fail(file, head.value.line + 1, 'no rows after the header "t,rps"');
  const t = ts.done();
  const rps = rs.done();
  const step = resolution(t);
  if (col.isCount) for (let i = 0; i < rps.length; i++) rps[i]! /= step;
  const gaps: Array<[number, number]> = [];
  for (let i = 1; i < t.length; i++) {
    if (t[i]! - t[i - 1]! > step) gaps.push([t[i - 1]! + step, t[i]!]);
  }
  const durationSeconds = t[t.length - 1]! + step - t[0]!;
  const unit = time.unit();
  if (durationSeconds > MAX_DAYS * 86_400) {
    const hint = unit === 'ms' ? '' : '; if t is in milliseconds, name the column t_ms';
    fail(
      file,
      head.value.line + 1,
      `the trace spans ${Math.round(durationSeconds / 86_400).toLocaleString('en-US')} days (t from ${t[0]} to ${t[t.length - 1]} s), more than ${MAX_DAYS}${hint}`,
    );
  }
  const notes: string[] = [];
  if (unit === 'ms') notes.push('t read as milliseconds');
  if (col.isCount) notes.push(`rps = ${valueName} / ${step} s`);
  return {
    file,
    t,
    rps,
    stepSeconds: step,
    durationSeconds,
    gaps,
    ...(isAbsolute(unit, t[0]!) ? { startMs: t[0]! * 1000 } : {}),
    ...(notes.length ? { notes } : {}),
  };
}

function fail(file: string, row: number, reason: string): never {
  return traceError(file, row, reason);
}

/**
 * The most common step between rows (ties: the smaller; one row: 1 s). Not the smallest: one row
 * a second late in a per-minute trace must not make it a per-second trace with a gap after every
 * row and a 1-second last bucket.
 */
function resolution(t: Float64Array): number {
  const counts = new Map<number, number>();
  for (let i = 1; i < t.length; i++) {
    const d = t[i]! - t[i - 1]!;
    counts.set(d, (counts.get(d) ?? 0) + 1);
  }
  let best = 1;
  let most = 0;
  for (const [d, n] of counts) {
    if (n > most || (n === most && d < best)) {
      best = d;
      most = n;
    }
  }
  return best;
}

function count(n: number): string {
  return ['zero', 'one', 'two', 'three'][n] ?? String(n);
}

/** Reads and parses a trace file (gzip too); a missing file is a one-line user error too. */
export function readTrace(file: string): Trace {
  return parseTrace(readTraceText(file), file);
}

function truncate(s: string): string {
  return s.length > 40 ? `${s.slice(0, 40)}…` : s;
}
