/**
 * Reads every model-server instance's `/metrics` once per tick (the I/O shell around
 * engine-metrics.ts). Each scrape has a timeout; an instance whose scrape fails or times out is
 * marked stale in `LlmInstanceStates` (its values dropped, never reused) and counts in no service
 * figure. The service's figures are computed from the instances scraped this tick and the tick
 * before: counters and histogram buckets added across instances, then rates and percentiles over
 * the interval (a percentile of merged buckets, never an average of percentiles), queue and running
 * summed, KV use averaged.
 */
import type { Engine } from './engine-names.js';
import {
  engineSignals,
  readEngine,
  type Buckets,
  type EngineReading,
  type EngineSignals,
} from './engine-metrics.js';
import type { LlmInstanceStates } from '../routing/llm-instance-states.js';

/** An instance to scrape. */
export interface ScrapeTarget {
  readonly id: string;
  /** Origin, e.g. `http://127.0.0.1:8000`. */
  readonly url: string;
}

/** Fetches a URL's body as text within `signal`; injectable for tests. */
export type FetchText = (url: string, signal: AbortSignal) => Promise<string>;

/** What one tick's scrape found. */
export interface ScrapeResult {
  /** The service's engine figures (sums, mean KV, interval rates and percentiles); {} when none. */
  service: EngineSignals;
  /** Instances scraped in time. */
  ok: number;
  /** Instances whose scrape failed or timed out (now stale). */
  stale: string[];
}

/** The scraper of one AI service. */
export interface EngineScraper {
  scrape(targets: readonly ScrapeTarget[]): Promise<ScrapeResult>;
  /** An instance left the pool. */
  forget(id: string): void;
}

const defaultFetch: FetchText = async (url, signal) => {
  const res = await fetch(url, { signal });
  if (!res.ok) throw new Error(`HTTP ${res.status}`);
  return res.text();
};

/** Creates the scraper of one AI service. */
export function createEngineScraper(options: {
  engine: Engine;
  states: LlmInstanceStates;
  now: () => number;
  /** Per-scrape timeout in ms (default 500). */
  timeoutMs?: number;
  /** Default `/metrics`. */
  path?: string;
  fetchText?: FetchText;
}): EngineScraper {
  const { engine, states, now } = options;
  const timeoutMs = options.timeoutMs ?? 500;
  const path = options.path ?? '/metrics';
  const fetchText = options.fetchText ?? defaultFetch;
  const last = new Map<string, EngineReading>();

  async function one(t: ScrapeTarget): Promise<[EngineReading, EngineReading | undefined] | undefined> {
    try {
      const text = await fetchText(t.url + path, AbortSignal.timeout(timeoutMs));
      const cur = readEngine(engine, text, now());
      const prev = last.get(t.id);
      last.set(t.id, cur);
      states.update(t.id, engineSignals(cur, prev), cur.at);
      return [cur, prev];
    } catch {
      states.markStale(t.id);
      last.delete(t.id);
      return undefined;
    }
  }

  async function scrape(targets: readonly ScrapeTarget[]): Promise<ScrapeResult> {
    if (engine === 'none') return { service: {}, ok: 0, stale: [] };
    const results = await Promise.all(targets.map(one));
    const stale = targets.filter((_, i) => results[i] === undefined).map((t) => t.id);
    const fresh = results.filter((r) => r !== undefined);
    if (fresh.length === 0) return { service: {}, ok: 0, stale };
    const cur = combine(fresh.map((r) => r[0]));
    const paired = fresh.filter((r) => r[1] !== undefined);
    const service = engineSignals(cur);
    if (paired.length > 0) {
      // rates and percentiles over the instances seen in both scrapes
      const rates = engineSignals(combine(paired.map((r) => r[0])), combine(paired.map((r) => r[1]!)));
      Object.assign(service, rates, {
        waiting: service.waiting,
        running: service.running,
        kvUtil: service.kvUtil,
      });
      for (const k of Object.keys(service) as (keyof EngineSignals)[])
        if (service[k] === undefined) delete service[k];
    }
    return { service, ok: fresh.length, stale };
  }

  return {
    scrape,
    forget(id) {
      last.delete(id);
      states.forget(id);
    },
  };
}

/** Readings of several instances as one: counts and buckets added, KV averaged, `at` the mean. */
export function combine(readings: readonly EngineReading[]): EngineReading {
  const sum = (
    k: 'waiting' | 'running' | 'promptTokens' | 'generationTokens' | 'prefixQueries' | 'prefixHits',
  ) => {
    let t: number | undefined;
    for (const r of readings) if (r[k] !== undefined) t = (t ?? 0) + r[k]!;
    return t;
  };
  const mean = (k: 'kvUtil' | 'prefixHitRate') => {
    const v = readings.map((r) => r[k]).filter((x) => x !== undefined);
    return v.length === 0 ? undefined : v.reduce((a, b) => a + b, 0) / v.length;
  };
  const out: Record<string, unknown> = {
    at: readings.reduce((a, r) => a + r.at, 0) / readings.length,
    waiting: sum('waiting'),
    running: sum('running'),
    kvUtil: mean('kvUtil'),
    promptTokens: sum('promptTokens'),
    generationTokens: sum('generationTokens'),
    prefixQueries: sum('prefixQueries'),
    prefixHits: sum('prefixHits'),
    prefixHitRate: mean('prefixHitRate'),
    ttft: addBuckets(readings.map((r) => r.ttft)),
    itl: addBuckets(readings.map((r) => r.itl)),
  };
  for (const k of Object.keys(out)) if (out[k] === undefined) delete out[k];
  return out as unknown as EngineReading;
}

function addBuckets(list: readonly (Buckets | undefined)[]): Buckets | undefined {
  const present = list.filter((b) => b !== undefined);
  if (present.length === 0) return undefined;
  const le = present[0]!.le;
  // instances with other bucket bounds (another engine version) cannot be added bucket by bucket
  const same = present.filter((b) => b.le.length === le.length && b.le.every((x, i) => x === le[i]));
  return { le, counts: le.map((_, i) => same.reduce((a, b) => a + b.counts[i]!, 0)) };
}
