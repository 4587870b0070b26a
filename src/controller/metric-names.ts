/**
 * `luascale check`'s static look at a Lua policy: metric names written as string literals in
 * `get_metric("…")`, `ctx.history("…", s)` and `ctx.forecast("…", h)` (also `ctx:history`) are
 * looked up in the signal catalogue and the config's custom `metrics`. A misspelled name answers
 * nil or {} at run time and nothing fails, so it is reported here, with the line and the nearest name.
 */
import { HISTORY_SIGNALS, SIGNAL_NAMES } from '../signals/index.js';
import { didYouMean } from './observation-schema.js';

/** One literal metric name the catalogue and the config do not know. */
export interface UnknownMetric {
  line: number;
  /** `get_metric`, `history` or `forecast`. */
  call: string;
  name: string;
  /** The nearest known name, if one is close. */
  hint?: string;
}

/** Observation fields `get_metric` also reads besides the catalogue (metric-lookup.ts). */
const GET_METRIC_EXTRAS = ['draining', 'startup_s'];

/** Lua source with comments blanked out (line numbers kept); strings are left as they are. */
export function stripLuaComments(source: string): string {
  let out = '';
  let i = 0;
  while (i < source.length) {
    const c = source[i]!;
    if (c === '"' || c === "'") {
      // a short string: copy to its closing quote (escapes included)
      let j = i + 1;
      while (j < source.length && source[j] !== c && source[j] !== '\n') j += source[j] === '\\' ? 2 : 1;
      out += source.slice(i, j + 1);
      i = j + 1;
      continue;
    }
    const long = /^\[(=*)\[/.exec(source.slice(i, i + 64));
    if (long) {
      const close = source.indexOf(`]${long[1]}]`, i);
      const end = close < 0 ? source.length : close + long[0].length;
      out += source.slice(i, end);
      i = end;
      continue;
    }
    if (source.startsWith('--', i)) {
      const m = /^--\[(=*)\[/.exec(source.slice(i, i + 64));
      let end: number;
      if (m) {
        const close = source.indexOf(`]${m[1]}]`, i);
        end = close < 0 ? source.length : close + m[0].length - 1;
      } else {
        end = source.indexOf('\n', i);
        if (end < 0) end = source.length;
      }
      out += source.slice(i, end).replace(/[^\n]/g, ' ');
      i = end;
      continue;
    }
    out += c;
    i++;
  }
  return out;
}

/** Literal metric names in `source` that are neither catalogue signals nor in `custom`. */
export function unknownMetricNames(source: string, custom: readonly string[] = []): UnknownMetric[] {
  const code = stripLuaComments(source);
  const out: UnknownMetric[] = [];
  const re = /(\bget_metric|[.:]\s*history|[.:]\s*forecast)\s*\(\s*(["'])([^"'\n]*)\2/g;
  for (const m of code.matchAll(re)) {
    const call = m[1]!.replace(/^[.:]\s*/, '');
    const name = m[3]!;
    const known =
      call === 'get_metric'
        ? [...SIGNAL_NAMES, ...GET_METRIC_EXTRAS, ...custom]
        : [...HISTORY_SIGNALS, ...custom];
    if (known.includes(name)) continue;
    const line = code.slice(0, m.index).split('\n').length;
    const hint = didYouMean(name, known);
    out.push({ line, call, name, ...(hint ? { hint } : {}) });
  }
  return out;
}

/** One line per unknown name: `cpu.lua:3: unknown metric "latncy.p95" in get_metric; did you mean "latency.p95"?`. */
export function describeUnknownMetric(file: string, u: UnknownMetric, custom: readonly string[]): string {
  const known = custom.length
    ? `catalogue signals (docs/signals.md) or custom metrics (${custom.join(', ')})`
    : 'catalogue signals (docs/signals.md)';
  return `${file}:${u.line}: unknown metric "${u.name}" in ${u.call}(), which answers ${u.call === 'history' ? '{}' : 'nil'} for it${u.hint ? `; did you mean "${u.hint}"?` : ''} (known: ${known})`;
}
