/**
 * A request-rate trace: CSV with header `t,rps`, `t` whole seconds from the start (the start of
 * the bucket), `rps` the mean rate over the bucket. Rows come at one fixed resolution; a row that
 * is missing (t jumps by more than the resolution) is a gap.
 *
 * Gap rule: a gap holds the last value (the rate of the row before it) until the next row. The
 * shared traces leave out whole collection outages (Twitter loses 23:31–24:00 every day); holding
 * the last value keeps a diurnal curve smooth where zero would invent a nightly outage.
 */
import { readFileSync } from 'node:fs';
import { LuascaleError } from '../core/errors.js';

/** A parsed trace: bucket starts and rates, plus what the parser learned about its shape. */
export interface Trace {
  /** The file it came from (for messages and reports). */
  file: string;
  /** Bucket start times in whole seconds, strictly increasing, starting at `t[0]` (usually 0). */
  t: Float64Array;
  /** Mean requests per second over each bucket, >= 0. */
  rps: Float64Array;
  /** The resolution: the smallest step between rows, in seconds. */
  stepSeconds: number;
  /** Seconds from `t[0]` to the end of the last bucket. */
  durationSeconds: number;
  /** Gaps (rows left out), each as [start, end) in seconds, held at the last value. */
  gaps: Array<[number, number]>;
}

function fail(file: string, row: number, reason: string): never {
  throw new LuascaleError('LS_ERR_TRACE_INVALID', { file, row, reason });
}

/** Parses trace text; every problem is one LuascaleError naming the file and the 1-based line. */
export function parseTrace(text: string, file = '<trace>'): Trace {
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const lines = text.split('\n');
  let first = 0;
  while (first < lines.length && lines[first]!.trim() === '') first++;
  if (first >= lines.length) fail(file, 1, 'empty file: expected a header line "t,rps" and at least one row');
  const header = lines[first]!.trim().toLowerCase().replace(/\s+/g, '');
  if (header !== 't,rps') {
    fail(file, first + 1, `missing header: expected "t,rps", got "${truncate(lines[first]!.trim())}"`);
  }
  const ts: number[] = [];
  const rs: number[] = [];
  for (let i = first + 1; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.trim() === '') continue;
    const row = i + 1;
    const comma = line.indexOf(',');
    if (comma < 0 || line.indexOf(',', comma + 1) >= 0) {
      fail(file, row, `expected two values "t,rps", got "${truncate(line.trim())}"`);
    }
    const tText = line.slice(0, comma).trim();
    const rText = line.slice(comma + 1).trim();
    const t = toNumber(tText);
    const r = toNumber(rText);
    if (t === undefined) fail(file, row, `t is not a number: "${truncate(tText)}"`);
    if (r === undefined) fail(file, row, `rps is not a number: "${truncate(rText)}"`);
    if (t < 0) fail(file, row, `t must be >= 0, got ${t}`);
    if (!Number.isInteger(t)) fail(file, row, `t must be whole seconds, got ${t}`);
    if (r < 0) fail(file, row, `rps must be >= 0, got ${r}`);
    const prev = ts.length ? ts[ts.length - 1]! : undefined;
    if (prev !== undefined && t <= prev) fail(file, row, `t must increase: ${t} follows ${prev}`);
    ts.push(t);
    rs.push(r);
  }
  if (ts.length === 0) fail(file, first + 2, 'no rows after the header "t,rps"');
  let step = Infinity;
  for (let i = 1; i < ts.length; i++) step = Math.min(step, ts[i]! - ts[i - 1]!);
  if (!Number.isFinite(step)) step = 1; // one row: one second
  const gaps: Array<[number, number]> = [];
  for (let i = 1; i < ts.length; i++) {
    if (ts[i]! - ts[i - 1]! > step) gaps.push([ts[i - 1]! + step, ts[i]!]);
  }
  return {
    file,
    t: Float64Array.from(ts),
    rps: Float64Array.from(rs),
    stepSeconds: step,
    durationSeconds: ts[ts.length - 1]! + step - ts[0]!,
    gaps,
  };
}

/** Reads and parses a trace file; a missing file is a one-line user error too. */
export function readTrace(file: string): Trace {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new LuascaleError('LS_ERR_CLI_INPUT', {
      where: file,
      reason: code === 'ENOENT' ? 'trace file not found' : `cannot read trace: ${(err as Error).message}`,
    });
  }
  return parseTrace(text, file);
}

function toNumber(s: string): number | undefined {
  // Number('') is 0 and Number('0x10') is 16: accept plain decimal notation only.
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(s)) return undefined;
  const n = Number(s);
  return Number.isFinite(n) ? n : undefined;
}

function truncate(s: string): string {
  return s.length > 40 ? `${s.slice(0, 40)}…` : s;
}
