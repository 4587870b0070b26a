/**
 * Measuring a token replay (token-simulate.ts): one second's engine signals from the fleet, and the
 * chart series of the report (the request-trace report's series, with TTFT as its p95).
 */
import { loadFactor } from '../llm-sim/timing-model.js';
import type { EngineFleet } from './engine-fleet.js';
import type { EngineProfile } from './engine-replica.js';
import type { SimulationSeries } from './simulate.js';
import { quantileSorted, type TokenSecond } from './token-stats.js';

/** One second of the fleet's engine signals at `endMs` (offered, dropped and TTFTs are the caller's). */
export function measureSecond(fl: EngineFleet, p: EngineProfile, endMs: number): TokenSecond {
  let waiting = 0;
  let running = 0;
  let kv = 0;
  let seats = 0;
  let tokensIn = 0;
  let tokensOut = 0;
  let inflightTokens = 0;
  const itls: number[] = [];
  for (const r of [...fl.ready, ...fl.draining]) {
    const busy = r.takeBusy(endMs);
    waiting += r.waiting;
    running += r.running;
    tokensIn += r.tokensIn;
    tokensOut += r.tokensOut;
    r.tokensIn = r.tokensOut = 0;
    inflightTokens += r.inflightTokens();
    if (busy.running > 0) itls.push(p.itlMs * loadFactor(busy.running, p));
    if (fl.ready.includes(r)) {
      kv += busy.kv;
      seats += busy.running / p.maxNumSeqs;
    }
  }
  const ready = Math.max(1, fl.ready.length);
  itls.sort((a, b) => a - b);
  return {
    offered: 0,
    dropped: 0,
    waiting,
    running,
    kvUtil: fl.ready.length > 0 ? kv / ready : 0,
    cpu: fl.ready.length > 0 ? (100 * seats) / ready : 0,
    gatewayQueue: fl.gatewayQueue,
    itlP50: itls.length > 0 ? quantileSorted(itls, 0.5) : Number.NaN,
    itlP95: itls.length > 0 ? quantileSorted(itls, 0.95) : Number.NaN,
    tokensIn,
    tokensOut,
    inflightTokens,
    ttfts: [],
  };
}

/** Buckets per-second values into at most `points` chart points. */
export function seriesCollector(total: number, points: number) {
  if (points <= 0) return undefined;
  const bucketS = Math.max(1, Math.ceil(total / points));
  const s: SimulationSeries = {
    bucketS,
    t: [],
    offered: [],
    capacity: [],
    desired: [],
    ready: [],
    billed: [],
    p95: [],
    dropped: [],
  };
  let n = 0;
  let t = 0;
  let acc = { offered: 0, ready: 0, billed: 0, p95: 0, dropped: 0, desired: 0 };
  let readyForCapacity: number[] = [];
  return {
    add(x: {
      offered: number;
      ready: number;
      billed: number;
      desired: number;
      p95: number;
      dropped: number;
    }) {
      acc.offered += x.offered;
      acc.ready += x.ready;
      acc.billed += x.billed;
      acc.dropped += x.dropped;
      acc.desired = x.desired;
      acc.p95 = Math.max(acc.p95, x.p95);
      n++;
      t++;
      if (n === bucketS || t === total) {
        s.t.push(t - n);
        s.offered.push(round(acc.offered / n, 3));
        s.ready.push(round(acc.ready / n, 3));
        readyForCapacity.push(acc.ready / n);
        s.billed.push(round(acc.billed / n, 3));
        s.desired.push(acc.desired);
        s.p95.push(round(acc.p95, 2));
        s.dropped.push(round(acc.dropped / n, 3));
        acc = { offered: 0, ready: 0, billed: 0, p95: 0, dropped: 0, desired: 0 };
        n = 0;
      }
    },
    done(capacityRps: number): SimulationSeries {
      s.capacity = readyForCapacity.map((r) => round(r * capacityRps, 3));
      readyForCapacity = [];
      return s;
    },
  };
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
