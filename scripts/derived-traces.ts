/**
 * Traces derived from the three shared ones for `predictive`'s cross-validation (issue 22,
 * docs/backtests.md "Cross-validation"): windows of at most one day (so one run takes seconds),
 * at other resolutions (per-5-minute, per-10-second), reversed in time, halves, other scales
 * (peak 10 or 40 instances instead of 20) and Poisson arrivals from a seed. Each belongs to the
 * family (`source`) it was cut from: a fold holds out a whole family.
 */
import { resolve } from 'node:path';
import { parseTrace, readTrace, type Trace } from '../src/simulator/index.js';
import { bursty, diurnal, flashCrowd } from './synthetic-traces.js';

/** The shared folder (override with LUASCALE_SHARED), as test/helpers/shared.ts finds it. */
const SHARED = resolve(process.env.LUASCALE_SHARED ?? resolve(import.meta.dirname, '../../shared'));

/** The shared traces the derived ones come from. */
export const SOURCES = {
  nasa: 'traces/nasa-1995-07-per-minute.csv',
  twitter: 'traces/twitter-stream-2021-08-per-minute.csv',
  azure: 'traces/azure-llm-code-2023-11-16-1h-per-second.csv',
} as const;

/** A family: a shared trace the derived ones are cut from, or a seeded generator (synthetic-traces.ts). */
export type Family = keyof typeof SOURCES | 'flash' | 'diurnal' | 'bursty';

type Rows = Array<[number, number]>;

/** One derived trace: how to build it, the peak it is scaled to, the seed of its arrivals. */
export interface DerivedTrace {
  name: string;
  source: Family;
  /** What was done to the source. */
  how: string;
  rows: (src: Rows) => Rows;
  /** Instances of 100 req/s the peak needs (the scale is 100 × peak / max rps). */
  peak: number;
  /** Poisson arrivals from this seed (undefined: even spreading). */
  seed?: number;
}

const DAY = 86_400;

/** The rows with `from <= t < to`, shifted to start at 0. */
export function window(r: Rows, from: number, to: number): Rows {
  return r.filter(([t]) => t >= from && t < to).map(([t, v]) => [t - from, v]);
}

/** Means over `width`-second buckets of time (a bucket without rows stays a gap). */
export function coarser(r: Rows, width: number): Rows {
  const sums = new Map<number, [number, number]>();
  for (const [t, v] of r) {
    const b = Math.floor(t / width);
    const s = sums.get(b) ?? [0, 0];
    sums.set(b, [s[0] + v, s[1] + 1]);
  }
  return [...sums].map(([b, [sum, n]]) => [b * width, sum / n]);
}

/** The same rows backwards in time. */
export function reversed(r: Rows): Rows {
  const end = r[r.length - 1]![0];
  return r.map(([t, v]): [number, number] => [end - t, v]).reverse();
}

/** The first (0) or second (1) half of the rows, starting at t = 0. */
export function half(r: Rows, which: 0 | 1): Rows {
  const mid = Math.floor(r.length / 2);
  const h = which === 0 ? r.slice(0, mid) : r.slice(mid);
  return h.map(([t, v]) => [t - h[0]![0], v]);
}

/** Traces from the seeded generators of synthetic-traces.ts (fixed before any result was seen). */
const SYNTHETIC: readonly DerivedTrace[] = [
  {
    name: 'flash-sec-s11',
    source: 'flash',
    how: 'a flash crowd, 8 h per second (seed 11)',
    rows: () => flashCrowd({ seed: 11, seconds: 8 * 3600, step: 1, crowds: 1 }),
    peak: 20,
  },
  {
    name: 'flash-sec-s12',
    source: 'flash',
    how: 'two flash crowds, 12 h per second (seed 12)',
    rows: () => flashCrowd({ seed: 12, seconds: 12 * 3600, step: 1, crowds: 2 }),
    peak: 20,
  },
  {
    name: 'flash-10s-s13-poisson',
    source: 'flash',
    how: 'a flash crowd, 8 h per 10 s, Poisson arrivals (seed 13)',
    rows: () => flashCrowd({ seed: 13, seconds: 8 * 3600, step: 10, crowds: 1 }),
    peak: 20,
    seed: 13,
  },
  {
    name: 'flash-min-s14-x40',
    source: 'flash',
    how: 'two flash crowds, a day per minute, peak 40 (seed 14)',
    rows: () => flashCrowd({ seed: 14, seconds: DAY, step: 60, crowds: 2 }),
    peak: 40,
  },
  {
    name: 'diurnal-min-s21',
    source: 'diurnal',
    how: 'diurnal with noise and spikes, 3 days per minute (seed 21)',
    rows: () => diurnal({ seed: 21, days: 3, step: 60, noise: 0.1, spikesPerDay: 4 }),
    peak: 20,
  },
  {
    name: 'diurnal-5min-s22',
    source: 'diurnal',
    how: 'diurnal, 7 days per 5 minutes (seed 22)',
    rows: () => diurnal({ seed: 22, days: 7, step: 300, noise: 0.05, spikesPerDay: 2 }),
    peak: 20,
  },
  {
    name: 'diurnal-min-s23-x40',
    source: 'diurnal',
    how: 'diurnal, noisy, 2 days per minute, peak 40 (seed 23)',
    rows: () => diurnal({ seed: 23, days: 2, step: 60, noise: 0.2, spikesPerDay: 8 }),
    peak: 40,
  },
  {
    name: 'diurnal-min-s24-smooth',
    source: 'diurnal',
    how: 'diurnal, smooth, 7 days per minute (seed 24)',
    rows: () => diurnal({ seed: 24, days: 7, step: 60, noise: 0.03, spikesPerDay: 0 }),
    peak: 20,
  },
  {
    name: 'bursty-sec-s31',
    source: 'bursty',
    how: 'bursty, 6 h per second (seed 31)',
    rows: () => bursty({ seed: 31, seconds: 6 * 3600, burstsPerHour: 6 }),
    peak: 20,
  },
  {
    name: 'bursty-sec-s32-poisson',
    source: 'bursty',
    how: 'bursty, 6 h per second, Poisson arrivals (seed 32)',
    rows: () => bursty({ seed: 32, seconds: 6 * 3600, burstsPerHour: 12 }),
    peak: 20,
    seed: 32,
  },
  {
    name: 'bursty-sec-s33-x10',
    source: 'bursty',
    how: 'bursty, 4 h per second, peak 10 (seed 33)',
    rows: () => bursty({ seed: 33, seconds: 4 * 3600, burstsPerHour: 6 }),
    peak: 10,
  },
];

/** The derived traces of the protocol (fixed: they are not chosen by how `predictive` does on them). */
export const DERIVED: readonly DerivedTrace[] = [
  {
    name: 'nasa-jul13-min',
    source: 'nasa',
    how: 'Jul 13 (launch day), per minute',
    rows: (r) => window(r, 12 * DAY, 13 * DAY),
    peak: 20,
  },
  {
    name: 'nasa-jul03-5min',
    source: 'nasa',
    how: 'Jul 3, per 5 minutes',
    rows: (r) => coarser(window(r, 2 * DAY, 3 * DAY), 300),
    peak: 20,
  },
  {
    name: 'nasa-jul13-poisson',
    source: 'nasa',
    how: 'Jul 13, Poisson arrivals (seed 1)',
    rows: (r) => window(r, 12 * DAY, 13 * DAY),
    peak: 20,
    seed: 1,
  },
  {
    name: 'nasa-jul20-rev',
    source: 'nasa',
    how: 'Jul 20 reversed',
    rows: (r) => reversed(window(r, 19 * DAY, 20 * DAY)),
    peak: 20,
  },
  {
    name: 'nasa-jul16-17-half2-x10',
    source: 'nasa',
    how: 'second half of Jul 16–17, peak 10 instances',
    rows: (r) => half(window(r, 15 * DAY, 17 * DAY), 1),
    peak: 10,
  },
  {
    name: 'twitter-d2-min',
    source: 'twitter',
    how: 'day 2, per minute',
    rows: (r) => window(r, 1 * DAY, 2 * DAY),
    peak: 20,
  },
  {
    name: 'twitter-d8-5min',
    source: 'twitter',
    how: 'day 8, per 5 minutes',
    rows: (r) => coarser(window(r, 7 * DAY, 8 * DAY), 300),
    peak: 20,
  },
  {
    name: 'twitter-d14-rev',
    source: 'twitter',
    how: 'day 14 reversed',
    rows: (r) => reversed(window(r, 13 * DAY, 14 * DAY)),
    peak: 20,
  },
  {
    name: 'twitter-d5-poisson',
    source: 'twitter',
    how: 'day 5, Poisson arrivals (seed 2)',
    rows: (r) => window(r, 4 * DAY, 5 * DAY),
    peak: 20,
    seed: 2,
  },
  {
    name: 'twitter-d18-x40',
    source: 'twitter',
    how: 'day 18, peak 40 instances',
    rows: (r) => window(r, 17 * DAY, 18 * DAY),
    peak: 40,
  },
  { name: 'azure-sec', source: 'azure', how: 'the hour, per second', rows: (r) => r, peak: 20 },
  { name: 'azure-rev', source: 'azure', how: 'reversed', rows: (r) => reversed(r), peak: 20 },
  { name: 'azure-half1', source: 'azure', how: 'first half', rows: (r) => half(r, 0), peak: 20 },
  { name: 'azure-10s', source: 'azure', how: 'per 10 seconds', rows: (r) => coarser(r, 10), peak: 20 },
  {
    name: 'azure-poisson-x40',
    source: 'azure',
    how: 'Poisson arrivals (seed 3), peak 40 instances',
    rows: (r) => r,
    peak: 40,
    seed: 3,
  },
  // Longer ones (added with the synthetic families): a week of history lets the forecast be trusted.
  {
    name: 'nasa-week2-min',
    source: 'nasa',
    how: 'Jul 8–14, per minute',
    rows: (r) => window(r, 7 * DAY, 14 * DAY),
    peak: 20,
  },
  {
    name: 'twitter-week1-min',
    source: 'twitter',
    how: 'days 1–7, per minute',
    rows: (r) => window(r, 0, 7 * DAY),
    peak: 20,
  },
  ...SYNTHETIC,
];

const cache = new Map<Family, Rows>();

/** A shared trace's rows as [t, rps] (a parsed trace, so gaps stay gaps). */
export function sourceRows(family: Family): Rows {
  if (!(family in SOURCES)) return []; // a generator's family: its rows ignore the source
  let r = cache.get(family);
  if (!r) {
    const t = readTrace(resolve(SHARED, SOURCES[family as keyof typeof SOURCES]));
    r = Array.from(t.t, (x, i): [number, number] => [x, t.rps[i]!]);
    cache.set(family, r);
  }
  return r;
}

/** Rows as a parsed trace named `name`. */
export function toTrace(name: string, r: Rows): Trace {
  return parseTrace(`t,rps\n${r.map(([t, v]) => `${t},${v}`).join('\n')}\n`, name);
}

/** Builds a derived trace and the scale that makes its peak need `peak` instances of 100 req/s. */
export function build(d: DerivedTrace): { trace: Trace; scale: number } {
  const r = d.rows(sourceRows(d.source));
  const trace = toTrace(d.name, r);
  let max = 0;
  for (const v of trace.rps) max = Math.max(max, v);
  return { trace, scale: Math.round(((100 * d.peak) / max) * 1000) / 1000 };
}

/** Whether the shared traces are there. */
export function sharedPresent(): string {
  return resolve(SHARED, SOURCES.nasa);
}
