/**
 * A tiny, well-defined JSON path subset (a strict subset of RFC 9535 "normalized paths" plus the
 * dotted shorthand people write), enough to pick one number out of a status document:
 *
 *   path     := ["$"] segment*          a leading `$` (the root) is optional
 *   segment  := "." name                `.queue`, `.depth` (a first segment may omit the dot)
 *             | "[" digits "]"          `[0]`: an array index, 0-based, no negatives
 *             | "[" quoted "]"          `["a.b"]` or `['a b']`: a member name with any characters
 *   name     := [A-Za-z_$-][A-Za-z0-9_$-]*
 *
 * No wildcards, slices, filters or recursive descent: a metric source needs exactly one value, and
 * a path that could select many would make "which one?" ambiguous.
 */
import { LuascaleError } from '../core/errors.js';
import { answerError } from './get-json.js';

/** One step of a parsed path: a member name or an array index. */
export type JsonPathSegment = { key: string } | { index: number };

/** Parses `path`; throws an Error naming the column of the first thing it cannot read. */
export function parseJsonPath(path: string): JsonPathSegment[] {
  const out: JsonPathSegment[] = [];
  let i = 0;
  const fail = (what: string): never => {
    throw new LuascaleError('LS_ERR_SOURCE_JSON_PATH', { path, column: i + 1, reason: what });
  };
  if (path.trim() !== path || path === '') fail('empty or padded with spaces');
  if (path[0] === '$') i = 1;
  const name = /[A-Za-z_$-][A-Za-z0-9_$-]*/y;
  const index = /\[(\d+)\]/y;
  const quoted = /\[(?:"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)')\]/y;
  while (i < path.length) {
    const first = out.length === 0 && i === 0;
    if (path[i] === '.' || (first && path[i] !== '[')) {
      const start = path[i] === '.' ? i + 1 : i;
      name.lastIndex = start;
      const m = name.exec(path);
      if (!m) {
        i = start;
        fail('expected a member name');
      }
      out.push({ key: m![0] });
      i = name.lastIndex;
    } else if (path[i] === '[') {
      index.lastIndex = i;
      quoted.lastIndex = i;
      const n = index.exec(path);
      const q = n ? null : quoted.exec(path);
      if (n) {
        out.push({ index: Number(n[1]) });
        i = index.lastIndex;
      } else if (q) {
        const raw = q[1] ?? q[2]!;
        out.push({ key: raw.replace(/\\(.)/g, '$1') });
        i = quoted.lastIndex;
      } else {
        fail('expected [digits] or ["name"]');
      }
    } else {
      fail(`unexpected "${path[i]}" (expected "." or "[")`);
    }
  }
  return out;
}

/** Formats segments back as a canonical path (`$.a[0]["b c"]`), for messages. */
export function formatJsonPath(segments: JsonPathSegment[]): string {
  return (
    '$' +
    segments
      .map((s) =>
        'index' in s
          ? `[${s.index}]`
          : /^[A-Za-z_$-][A-Za-z0-9_$-]*$/.test(s.key)
            ? `.${s.key}`
            : `[${JSON.stringify(s.key)}]`,
      )
      .join('')
  );
}

/**
 * Follows `segments` through `doc` and returns what is there as a number. A JSON number is taken
 * as is; a string holding a decimal number (`"12.5"`, as Prometheus and many status pages send)
 * is converted; anything else (missing member, null, boolean, object) throws naming the step.
 */
export function selectNumber(doc: unknown, segments: JsonPathSegment[]): number {
  let cur: unknown = doc;
  for (let k = 0; k < segments.length; k++) {
    const s = segments[k]!;
    const where = formatJsonPath(segments.slice(0, k + 1));
    if ('index' in s) {
      if (!Array.isArray(cur)) throw answerError(`${where}: expected an array, found ${kind(cur)}`);
      if (s.index >= cur.length)
        throw answerError(`${where}: index out of range (array has ${cur.length} elements)`);
      cur = cur[s.index];
    } else {
      if (cur === null || typeof cur !== 'object' || Array.isArray(cur)) {
        throw answerError(`${where}: expected an object, found ${kind(cur)}`);
      }
      if (!Object.prototype.hasOwnProperty.call(cur, s.key)) throw answerError(`${where}: no such member`);
      cur = (cur as Record<string, unknown>)[s.key];
    }
  }
  const where = formatJsonPath(segments);
  if (typeof cur === 'number') return cur;
  if (typeof cur === 'string' && /^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$/.test(cur))
    return Number(cur);
  throw answerError(`${where}: expected a number, found ${kind(cur)}`);
}

function kind(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v)}`;
  if (typeof v === 'object') return 'an object';
  return `${typeof v} ${String(v)}`;
}
