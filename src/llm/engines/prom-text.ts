/**
 * A parser for the Prometheus text exposition format (version 0.0.4, as every engine's `/metrics`
 * serves it; OpenMetrics' `# EOF` and `_created` lines pass too). No maintained npm parser fits:
 * prom-client only writes the format, and `parse-prometheus-text-format` (1.1.1) has had no release
 * since 2019. The format is line-based and small, so this one follows the spec directly
 * (prometheus/docs: exposition_formats.md): `# HELP` / `# TYPE` / other comments, then
 * `name{label="value",...} value [timestamp]`, label values escaping `\\`, `\"` and `\n`, values
 * `NaN`, `+Inf`, `-Inf` or a Go float.
 */

/** One sample: its labels and value. */
export interface PromSample {
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** Parsed exposition: the samples of each series name (`_bucket`, `_sum`, `_count` kept as written). */
export interface PromText {
  readonly samples: ReadonlyMap<string, readonly PromSample[]>;
  /** `# TYPE` by family name. */
  readonly types: ReadonlyMap<string, string>;
  /** Lines that were neither a comment nor a sample (counted, not thrown: one bad line never hides the rest). */
  readonly badLines: number;
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*/;

/** Parses exposition text. Malformed lines are skipped and counted in `badLines`. */
export function parsePromText(text: string): PromText {
  const samples = new Map<string, PromSample[]>();
  const types = new Map<string, string>();
  let badLines = 0;
  for (const raw of text.split('\n')) {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line.trim() === '') continue;
    if (line.startsWith('#')) {
      const m = /^#\s+TYPE\s+(\S+)\s+(\S+)/.exec(line);
      if (m) types.set(m[1]!, m[2]!);
      continue;
    }
    const s = parseSample(line.trimStart());
    if (s === undefined) {
      badLines++;
      continue;
    }
    let list = samples.get(s.name);
    if (list === undefined) samples.set(s.name, (list = []));
    list.push({ labels: s.labels, value: s.value });
  }
  return { samples, types, badLines };
}

function parseSample(
  line: string,
): { name: string; labels: Record<string, string>; value: number } | undefined {
  const nm = NAME.exec(line);
  if (nm === null) return undefined;
  const name = nm[0];
  let i = name.length;
  const labels: Record<string, string> = {};
  if (line[i] === '{') {
    i++;
    for (;;) {
      while (line[i] === ' ' || line[i] === ',') i++;
      if (line[i] === '}') {
        i++;
        break;
      }
      const lm = LABEL.exec(line.slice(i));
      if (lm === null) return undefined;
      i += lm[0].length;
      while (line[i] === ' ') i++;
      if (line[i] !== '=' || line[i + 1] !== '"') return undefined;
      i += 2;
      let value = '';
      for (;;) {
        const c = line[i];
        if (c === undefined) return undefined;
        i++;
        if (c === '"') break;
        if (c === '\\') {
          const e = line[i++];
          value += e === 'n' ? '\n' : e === undefined ? '' : e;
        } else value += c;
      }
      labels[lm[0]] = value;
    }
  }
  const rest = line.slice(i).trim().split(/\s+/);
  if (rest.length < 1 || rest.length > 2 || rest[0] === '') return undefined;
  const value = parseValue(rest[0]!);
  return value === undefined ? undefined : { name, labels, value };
}

function parseValue(s: string): number | undefined {
  if (s === 'NaN') return Number.NaN;
  if (s === '+Inf' || s === 'Inf') return Number.POSITIVE_INFINITY;
  if (s === '-Inf') return Number.NEGATIVE_INFINITY;
  const v = Number(s);
  return Number.isNaN(v) || s.trim() === '' ? undefined : v;
}
