/**
 * From an engine's `/metrics` text to one vocabulary: `readEngine` maps one scrape to an
 * `EngineReading` (gauges and running totals), and `engineSignals` turns two consecutive readings
 * into the values policies and the balancer use (rates, the prefix hit rate and latency percentiles
 * over the interval). Pure: no I/O, time passed in. A quantity the engine does not export stays
 * `undefined` all the way to Lua (nil), never 0.
 */
import { ENGINE_NAMES, type Engine } from './engine-names.js';
import { parsePromText, type PromSample } from './prom-text.js';

/** A cumulative histogram: upper bounds (seconds, ascending, +Inf last) and counts at or below each. */
export interface Buckets {
  readonly le: readonly number[];
  readonly counts: readonly number[];
}

/** One scrape in canonical terms. */
export interface EngineReading {
  /** Monotonic ms of the scrape. */
  readonly at: number;
  readonly waiting?: number;
  readonly running?: number;
  /** 0..1. */
  readonly kvUtil?: number;
  readonly promptTokens?: number;
  readonly generationTokens?: number;
  readonly prefixQueries?: number;
  readonly prefixHits?: number;
  readonly prefixHitRate?: number;
  readonly ttft?: Buckets;
  readonly itl?: Buckets;
}

/** What one instance's engine says over the last interval, in the catalogue's units. */
export interface EngineSignals {
  waiting?: number;
  running?: number;
  kvUtil?: number;
  tokensInRps?: number;
  tokensOutRps?: number;
  /** 0..1 over the interval (hits / queries), or the engine's own gauge. */
  prefixHitRate?: number;
  ttftP50?: number;
  ttftP95?: number;
  itlP50?: number;
  itlP95?: number;
}

/** Maps one exposition of `engine` to canonical values (`none`: nothing). */
export function readEngine(engine: Engine, text: string, at: number): EngineReading {
  if (engine === 'none') return { at };
  const names = ENGINE_NAMES[engine];
  const { samples } = parsePromText(text);
  const first = (list: readonly string[]) => {
    for (const n of list) {
      const s = samples.get(n);
      if (s !== undefined && s.length > 0) return s;
    }
    return undefined;
  };
  const sum = (list: readonly string[]) => total(first(list));
  const kv = first(names.kvUtil);
  return dropUndefined({
    at,
    waiting: sum(names.waiting),
    running: sum(names.running),
    // several series (models, tensor-parallel ranks): the fullest cache is the one that saturates
    kvUtil: kv === undefined ? undefined : Math.max(...kv.map((s) => s.value)),
    promptTokens: sum(names.promptTokens),
    generationTokens: sum(names.generationTokens),
    prefixQueries: sum(names.prefixQueries),
    prefixHits: sum(names.prefixHits),
    prefixHitRate: sum(names.prefixHitRate),
    ttft: buckets(names.ttft.map((n) => samples.get(`${n}_bucket`)).find((s) => s !== undefined)),
    itl: buckets(names.itl.map((n) => samples.get(`${n}_bucket`)).find((s) => s !== undefined)),
  });
}

/**
 * The signals of the interval between two readings of the same instance. Gauges come from `cur`;
 * rates and percentiles from the counters' and buckets' increase (a counter that went down was
 * reset: its new value is the increase, as Prometheus' rate()). Without `prev` only the gauges.
 */
export function engineSignals(cur: EngineReading, prev?: EngineReading): EngineSignals {
  const out: EngineSignals = { waiting: cur.waiting, running: cur.running, kvUtil: cur.kvUtil };
  if (prev !== undefined && cur.at > prev.at) {
    const s = (cur.at - prev.at) / 1000;
    // A series absent from the previous scrape but present now started in the interval (prom-client
    // and vLLM show a labelled counter only once it has counted), so it counts from 0.
    const inc = (a: number | undefined, b: number | undefined) =>
      a === undefined ? undefined : b === undefined || a < b ? a : a - b;
    const dIn = inc(cur.promptTokens, prev.promptTokens);
    const dOut = inc(cur.generationTokens, prev.generationTokens);
    if (dIn !== undefined) out.tokensInRps = dIn / s;
    if (dOut !== undefined) out.tokensOutRps = dOut / s;
    const dq = inc(cur.prefixQueries, prev.prefixQueries);
    const dh = inc(cur.prefixHits, prev.prefixHits);
    if (dq !== undefined && dh !== undefined && dq > 0) out.prefixHitRate = Math.min(1, dh / dq);
    const ttft = increase(cur.ttft, prev.ttft);
    const itl = increase(cur.itl, prev.itl);
    out.ttftP50 = ms(quantile(ttft, 0.5));
    out.ttftP95 = ms(quantile(ttft, 0.95));
    out.itlP50 = ms(quantile(itl, 0.5));
    out.itlP95 = ms(quantile(itl, 0.95));
  }
  if (out.prefixHitRate === undefined && cur.prefixHitRate !== undefined)
    out.prefixHitRate = cur.prefixHitRate;
  return dropUndefined(out);
}

/**
 * Prometheus' histogram_quantile: linear interpolation inside the bucket holding rank q·count; a
 * rank in the +Inf bucket gives the last finite bound. Undefined without observations.
 */
export function quantile(b: Buckets | undefined, q: number): number | undefined {
  if (b === undefined || b.counts.length === 0) return undefined;
  const count = b.counts[b.counts.length - 1]!;
  if (!(count > 0)) return undefined;
  const rank = q * count;
  let i = 0;
  while (i < b.counts.length - 1 && b.counts[i]! < rank) i++;
  const upper = b.le[i]!;
  if (upper === Number.POSITIVE_INFINITY) return b.le[i - 1] ?? undefined;
  const lower = i === 0 ? 0 : b.le[i - 1]!;
  const below = i === 0 ? 0 : b.counts[i - 1]!;
  const inBucket = b.counts[i]! - below;
  return inBucket <= 0 ? upper : lower + ((upper - lower) * (rank - below)) / inBucket;
}

function increase(cur: Buckets | undefined, prev: Buckets | undefined): Buckets | undefined {
  if (cur === undefined) return undefined;
  if (prev === undefined) return cur; // the histogram's first observations fell in the interval
  if (prev.le.length !== cur.le.length) return undefined;
  const counts = cur.counts.map((c, i) => c - prev.counts[i]!);
  // a reset (any bucket went down): the new counts are the increase
  return counts.some((c) => c < 0) ? cur : { le: cur.le, counts };
}

function ms(seconds: number | undefined): number | undefined {
  return seconds === undefined ? undefined : seconds * 1000;
}

function total(samples: readonly PromSample[] | undefined): number | undefined {
  if (samples === undefined) return undefined;
  let t = 0;
  for (const s of samples) if (Number.isFinite(s.value)) t += s.value;
  return t;
}

/** Sums the `_bucket` series by `le` (several label sets: models, ranks), ascending. */
function buckets(samples: readonly PromSample[] | undefined): Buckets | undefined {
  if (samples === undefined) return undefined;
  const byLe = new Map<number, number>();
  for (const s of samples) {
    const le = s.labels['le'];
    if (le === undefined) continue;
    const bound = le === '+Inf' ? Number.POSITIVE_INFINITY : Number(le);
    if (Number.isNaN(bound)) continue;
    byLe.set(bound, (byLe.get(bound) ?? 0) + s.value);
  }
  if (byLe.size === 0) return undefined;
  const le = [...byLe.keys()].sort((a, b) => a - b);
  return { le, counts: le.map((b) => byLe.get(b)!) };
}

function dropUndefined<T extends object>(o: T): T {
  for (const k of Object.keys(o) as (keyof T)[]) if (o[k] === undefined) delete o[k];
  return o;
}
