/**
 * The table inside a trace file, whatever shape a public trace comes in: gzip or plain, a UTF-8
 * BOM, CRLF, blank lines and `#` comments, comma/tab/semicolon/space separated, quoted fields, a
 * header with the columns in any order (named by the aliases below) or no header at all, and a
 * time column in seconds, epoch seconds, epoch milliseconds or ISO-8601. Lines are read one at a
 * time (no split of a 100 MB file into millions of strings). Every problem is one
 * LS_ERR_TRACE_INVALID naming the file and the 1-based line.
 */
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { LuascaleError } from '../core/errors.js';

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;

/**
 * Throws the one-line trace error. What the file said is quoted in the reason; its control
 * characters are escaped (`\x1b`), so a hostile or binary file cannot drive the terminal.
 */
export function traceError(file: string, row: number, reason: string): never {
  const safe = reason.replace(CONTROL, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
  throw new LuascaleError('LS_ERR_TRACE_INVALID', { file, row, reason: safe });
}

/**
 * Reads a trace file as text (`-`: standard input, for `zcat x.gz | luascale simulate --trace -`):
 * gzip (by its magic bytes, whatever the name) is unpacked, a BOM dropped.
 */
export function readTraceText(file: string): string {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file === '-' ? 0 : file);
    if (bytes[0] === 0x1f && bytes[1] === 0x8b) bytes = gunzipSync(bytes);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new LuascaleError('LS_ERR_CLI_INPUT', {
      where: file,
      reason: code === 'ENOENT' ? 'trace file not found' : `cannot read trace: ${(err as Error).message}`,
    });
  }
  const text = bytes.toString('utf8');
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/** One line with content: its 1-based number and its text (CR and surrounding space removed). */
export interface TraceLine {
  line: number;
  text: string;
}

/** The lines of `text` that carry content: blank lines and `#` comments are skipped. */
export function* contentLines(text: string): Generator<TraceLine> {
  let start = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  let line = 0;
  // LF or CRLF; a file with no LF at all ends its lines with CR alone (classic Mac, some Excel exports).
  const nl = text.includes('\n') ? '\n' : '\r';
  while (start <= text.length) {
    let end = text.indexOf(nl, start);
    if (end < 0) end = text.length;
    line++;
    const s = text.slice(start, end).trim();
    start = end + 1;
    if (s !== '' && s[0] !== '#') yield { line, text: s };
  }
}

/** The separator a header or first row uses: comma, else tab, else semicolon, else runs of spaces. */
export function detectSeparator(first: string): string | RegExp {
  if (first.includes(',')) return ',';
  if (first.includes('\t')) return '\t';
  if (first.includes(';')) return ';';
  return /\s+/;
}

/** Splits one line into trimmed fields, honouring double quotes (`"1,5"`, `"say ""hi"""`). */
export function splitFields(line: string, sep: string | RegExp): string[] {
  if (!line.includes('"')) {
    const parts = line.split(sep);
    for (let i = 0; i < parts.length; i++) parts[i] = parts[i]!.trim();
    return parts;
  }
  if (typeof sep !== 'string') return line.split(sep).map((f) => unquote(f.trim()));
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cur += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === sep) {
      out.push(cur.trim());
      cur = '';
    } else cur += ch;
  }
  out.push(cur.trim());
  return out;
}

function unquote(s: string): string {
  return s.length >= 2 && s.startsWith('"') && s.endsWith('"') ? s.slice(1, -1).replace(/""/g, '"') : s;
}

/** A column name reduced to letters and digits, lower case: `Request tokens` → `requesttokens`. */
export function columnKey(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9]/g, '');
}

/** Names a time column goes by (after {@link columnKey}); `…ms` names say the unit is milliseconds. */
export const TIME_NAMES = ['t', 'time', 'timestamp', 'ts', 'date', 'datetime', 'times', 'seconds', 'second'];
export const TIME_MS_NAMES = ['tms', 'timems', 'timestampms', 'tsms', 'epochms'];

/** Picks the one column whose key is in `names`; undefined when none, an error when several. */
export function pickColumn(
  keys: string[],
  names: readonly string[],
  o: { file: string; line: number; what: string },
): number | undefined {
  const found = keys.flatMap((k, i) => (names.includes(k) ? [i] : []));
  if (found.length > 1)
    traceError(o.file, o.line, `cannot tell which column is ${o.what}: ${found.length} candidates`);
  return found[0];
}

const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const ISO =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?)?\s*(Z|UTC|GMT|[+-]\d{2}(?::?\d{2})?)?$/i;

/** A plain decimal number (not `0x10`, `NaN`, `Infinity` or empty), or undefined. */
export function toNumber(s: string): number | undefined {
  if (!DECIMAL.test(s)) return undefined;
  const n = Number(s);
  return Number.isFinite(n) ? n : undefined;
}

/** An ISO-8601 date-time as epoch seconds (fractions kept); no zone means UTC, so runs repeat on every machine. */
export function isoSeconds(s: string): number | undefined {
  const m = ISO.exec(s);
  if (!m) return undefined;
  const [, y, mo, d, h = '0', mi = '0', sec = '0', frac = '', zone = 'Z'] = m;
  const ms = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(sec));
  if (!Number.isFinite(ms) || Number(mo) > 12 || Number(d) > 31 || Number(h) > 23 || Number(mi) > 59) {
    return undefined;
  }
  let offset = 0;
  if (/^[+-]/.test(zone)) {
    const z = /^([+-])(\d{2}):?(\d{2})?$/.exec(zone)!;
    offset = (z[1] === '-' ? -1 : 1) * (Number(z[2]) * 3600 + Number(z[3] ?? 0) * 60);
  }
  return ms / 1000 + (frac ? Number(frac) : 0) - offset;
}

/** Whether a field is a value (number or ISO time) rather than a column name. */
export function isValue(s: string): boolean {
  return toNumber(s) !== undefined || isoSeconds(s) !== undefined;
}

/**
 * Reads time fields in one unit for the whole file. Numbers are seconds; a column named `…ms`,
 * or numbers from 1e11 on (epoch milliseconds: 1e11 s would be the year 5138), are milliseconds;
 * ISO-8601 times are epoch seconds. `absolute` says whether the times are wall-clock ones.
 */
export function timeReader(o: { file: string; msColumn: boolean }) {
  let kind: 'number' | 'iso' | undefined;
  let first: number | undefined;
  let ms = o.msColumn;
  return {
    read(s: string, line: number, what = 't'): number {
      const n = kind === 'iso' ? undefined : toNumber(s);
      if (n !== undefined) {
        kind ??= 'number';
        if (first === undefined) {
          first = n;
          if (n >= 1e11) ms = true;
        }
        return ms ? n / 1000 : n;
      }
      const iso = kind === 'number' ? undefined : isoSeconds(s);
      if (iso === undefined) {
        traceError(
          o.file,
          line,
          `${what} is not a number: "${s.length > 40 ? `${s.slice(0, 40)}…` : s}" (expected seconds, epoch seconds or ms, or an ISO-8601 time)`,
        );
      }
      kind = 'iso';
      return iso;
    },
    /** What the unit turned out to be, for a note (undefined: plain seconds). */
    unit(): 'iso' | 'ms' | 'epoch' | undefined {
      if (kind === 'iso') return 'iso';
      if (ms) return 'ms';
      return first !== undefined && first >= 1e8 ? 'epoch' : undefined;
    },
  };
}

/** Whether t values in `unit` are wall-clock times (so t[0] is a date). */
export function isAbsolute(unit: ReturnType<ReturnType<typeof timeReader>['unit']>, t0: number): boolean {
  return unit === 'iso' || unit === 'epoch' || (unit === 'ms' && t0 >= 1e8);
}

/** A growing Float64Array: millions of rows without million-element JS arrays (8 bytes a value). */
export class Grow {
  private a = new Float64Array(1024);
  length = 0;
  push(v: number): void {
    if (this.length === this.a.length) {
      const b = new Float64Array(this.a.length * 2);
      b.set(this.a);
      this.a = b;
    }
    this.a[this.length++] = v;
  }
  last(): number {
    return this.a[this.length - 1]!;
  }
  /** The values pushed, as an array of their own. */
  done(): Float64Array {
    return this.a.slice(0, this.length);
  }
}
