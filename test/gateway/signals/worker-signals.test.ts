import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../../src/core/clock.js';
import { createSignals, type Signals } from '../../../src/gateway/signals/signals.js';
import { createEventLoopLag } from '../../../src/gateway/signals/event-loop-lag.js';
import { sumAggregates, secondAggregate } from '../../../src/gateway/signals/second-aggregate.js';
import {
  createWorkerSignals,
  startWorkerSignalsReporter,
  type WorkerSignalsReport,
} from '../../../src/gateway/worker-signals.js';

const lag = (ms: number) => createEventLoopLag({ read: () => ms, close() {} });

/** Replays request i on every sink at the same instants: start, dispatch, then end or shed. */
function request(sinks: Signals[], clock: ManualClock, i: number): void {
  const route = i % 3 === 0 ? '/b' : '/a';
  for (const s of sinks) s.onStart(route, 'api', undefined);
  if (i % 7 === 0) {
    for (const s of sinks) s.onShed(route, 'api', i % 2 ? 'rate_limit' : 'queue_full');
    return;
  }
  const instance = i % 2 ? 'i1' : 'i2';
  for (const s of sinks) s.onDispatch('api', instance);
  clock.advance(1);
  const e = {
    route,
    service: 'api',
    operationId: i % 5 === 0 ? 'getA' : undefined,
    instance,
    status: i % 11 === 0 ? 503 : 200,
    latencyMs: 1 + (i % 50) * 3.7,
    bytesIn: 10,
    bytesOut: 100,
  };
  for (const s of sinks) s.onEnd(e);
}

test('the primary merging two workers reads the same figures as one process that saw every request', () => {
  const clock = new ManualClock(1_000_000);
  const one = createSignals(clock, { eventLoop: lag(1) });
  const w1 = createSignals(clock, { eventLoop: lag(1) });
  const w2 = createSignals(clock, { eventLoop: lag(3) });
  const primary = createWorkerSignals(clock);
  const reports: Array<[number, WorkerSignalsReport]> = [];
  const r1 = startWorkerSignalsReporter({
    signals: w1,
    clock,
    services: () => ['api'],
    send: (r) => reports.push([1, r]),
  });
  const r2 = startWorkerSignalsReporter({
    signals: w2,
    clock,
    services: () => ['api'],
    send: (r) => reports.push([2, r]),
  });
  try {
    // 5 seconds of traffic: request i goes to worker 1 or 2 (the listener's round robin) and to `one`
    for (let sec = 0; sec < 5; sec++) {
      for (let i = 0; i < 40 + sec * 10; i++) {
        request([one, i % 2 ? w1 : w2], clock, i);
      }
      clock.advance(1000 - (clock.now() % 1000));
      r1.report(clock.now());
      r2.report(clock.now());
    }
    for (const [w, r] of reports) primary.ingest(w, r);
    const now = clock.now();
    const a = one.snapshot('api', now, 5);
    // one process's latency window also holds the second still filling up; the primary reads
    // complete seconds only, i.e. one process's view 1 ms before the boundary
    const early = one.snapshot('api', now - 1, 5);
    const b = primary.snapshot('api', now, 5);
    for (const k of [
      'offered_rps',
      'admitted_rps',
      'completed_rps',
      'shed_rps',
      'error_rate',
      'bytes_in_per_s',
      'bytes_out_per_s',
    ] as const)
      assert.ok(Math.abs(a[k] - b[k]) < 1e-9, `${k}: ${a[k]} vs ${b[k]}`);
    assert.deepEqual(b.status, a.status);
    assert.deepEqual(b.shed_by_reason, a.shed_by_reason);
    // histograms add bucket by bucket: percentiles are those of one process, not averages
    assert.deepEqual(b.latency, early.latency);
    // a decoded histogram keeps its max at the bucket's precision (2 digits: within 1 %)
    assert.ok(Math.abs(b.latency_max_ms / early.latency_max_ms - 1) < 0.01);
    assert.ok(Math.abs(a.inflight - b.inflight) < 1e-9, `inflight ${a.inflight} vs ${b.inflight}`);
    assert.deepEqual(Object.keys(b.routes).sort(), ['/a', '/b']);
    for (const r of ['/a', '/b']) {
      assert.ok(Math.abs(a.routes[r]!.offered_rps - b.routes[r]!.offered_rps) < 1e-9, r);
      assert.deepEqual(b.routes[r]!.latency, early.routes[r]!.latency);
    }
    for (const i of ['i1', 'i2'])
      assert.ok(Math.abs(a.instances[i]!.completed_rps - b.instances[i]!.completed_rps) < 1e-9, i);
    assert.ok(Math.abs(a.operations.getA!.rps - b.operations.getA!.rps) < 1e-9);
    assert.deepEqual(b.operations.getA!.latency, early.operations.getA!.latency);
    // the worst worker's event-loop lag
    assert.equal(b.event_loop_lag_ms, 3);
    // the sum for Redis publishing equals one process's aggregate of that second
    const sec = (Math.floor(now / 1000) - 2) * 1000;
    const merged = primary.secondAggregate('api', sec)!;
    const single = secondAggregate(one, 'api', sec)!;
    assert.equal(merged.offered, single.offered);
    assert.equal(merged.completed, single.completed);
    assert.deepEqual(merged.status, single.status);
    assert.deepEqual(sumAggregates([merged]).lat, merged.lat);
  } finally {
    r1.close();
    r2.close();
  }
});

test('a worker that left stops counting in the levels "now" but its past seconds stay counted', () => {
  const clock = new ManualClock(2_000_000);
  const w = createSignals(clock, { eventLoop: lag(0) });
  const primary = createWorkerSignals(clock);
  const rep = startWorkerSignalsReporter({
    signals: w,
    clock,
    services: () => ['api'],
    send: (r) => primary.ingest(7, r),
  });
  w.onStart('/a', 'api');
  w.onDispatch('api', 'i1');
  clock.advance(500);
  w.onStart('/a', 'api');
  w.onDispatch('api', 'i1');
  w.onEnd({
    route: '/a',
    service: 'api',
    instance: 'i1',
    status: 200,
    latencyMs: 5,
    bytesIn: 0,
    bytesOut: 0,
  });
  clock.advance(1000);
  try {
    rep.report(clock.now());
    const s1 = primary.snapshot('api', clock.now(), 10);
    assert.equal(s1.inflight_now, 1);
    assert.equal(primary.inflightNow('api'), 1);
    primary.forgetWorker(7);
    const s2 = primary.snapshot('api', clock.now(), 10);
    assert.equal(s2.inflight_now, 0);
    assert.equal(s2.offered_rps, s1.offered_rps);
  } finally {
    rep.close();
  }
});
