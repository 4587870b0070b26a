import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../../src/core/clock.js';
import { completeObservation } from '../../../src/policy/policy.js';
import { createSignals } from '../../../src/gateway/signals/signals.js';
import {
  createEventLoopLag,
  perfHooksLagSource,
  type LagSource,
} from '../../../src/gateway/signals/event-loop-lag.js';

function fakeLag(readings: (number | undefined)[]): LagSource & { closed: boolean } {
  const src = { closed: false, read: () => readings.shift(), close: () => void (src.closed = true) };
  return src;
}

function setup() {
  const clock = new ManualClock(0);
  const lag = fakeLag([5, 15]);
  const s = createSignals(clock, { eventLoop: createEventLoopLag(lag) });
  const end = (
    status: number,
    latencyMs: number,
    extra: Partial<{ route: string; instance: string; operationId: string }> = {},
  ) =>
    s.onEnd({
      route: extra.route ?? '/users/{id}',
      service: 'api',
      operationId: extra.operationId,
      instance: extra.instance ?? 'i1',
      status,
      latencyMs,
      bytesIn: 10,
      bytesOut: 100,
    });
  return { clock, s, end, lag };
}

test('offered, admitted, shed and completed rates over a 10 s window', () => {
  const { clock, s, end } = setup();
  // 10 s of: 20 offered per second, 5 shed (rate limit), 15 completed (one 5xx)
  for (let sec = 0; sec < 10; sec++) {
    for (let i = 0; i < 20; i++) s.onStart('/users/{id}', 'api');
    for (let i = 0; i < 5; i++) s.onShed('/users/{id}', 'api', 'rate_limit');
    for (let i = 0; i < 15; i++) end(i === 0 ? 503 : 200, 10 + i);
    clock.advance(1000);
  }
  const snap = s.snapshot('api', clock.now(), 10);
  assert.equal(snap.offered_rps, 20);
  assert.equal(snap.rps, 20);
  assert.equal(snap.shed_rps, 5);
  assert.equal(snap.admitted_rps, 15);
  assert.equal(snap.completed_rps, 15);
  assert.deepEqual(snap.shed_by_reason, { rate_limit: 5, queue_full: 0, queue_timeout: 0, at_capacity: 0 });
  assert.equal(snap.status['2xx'], 14);
  assert.equal(snap.status['5xx'], 1);
  assert.ok(Math.abs(snap.error_rate - 1 / 15) < 1e-12);
  assert.equal(snap.bytes_out_per_s, 1500);
  assert.equal(snap.routes['/users/{id}']!.offered_rps, 20);
  assert.equal(snap.instances.i1!.completed_rps, 15);
  assert.equal(snap.inflight_now, 0);
});

test('latency percentiles come from the window, per service, route, operation and instance', () => {
  const { clock, s, end } = setup();
  for (let i = 1; i <= 100; i++) {
    s.onStart('/a', 'api');
    end(200, i, { route: '/a', operationId: 'getA', instance: i % 2 ? 'i1' : 'i2' });
  }
  clock.advance(500);
  const snap = s.snapshot('api', clock.now(), 10);
  const near = (a: number, b: number) => assert.ok(Math.abs(a - b) <= b * 0.02, `${a} vs ${b}`);
  near(snap.latency.p50, 50);
  near(snap.latency.p95, 95);
  near(snap.latency.p99, 99);
  near(snap.routes['/a']!.latency.p99, 99);
  near(snap.operations.getA!.latency.p50, 50);
  assert.deepEqual(Object.keys(snap.instances).sort(), ['i1', 'i2']);
});

test('in flight is the time-weighted average at the instances, queued requests excluded', () => {
  const { clock, s, end } = setup();
  for (let i = 0; i < 4; i++) s.onStart('/a', 'api'); // 4 started at t=0
  s.onQueue('api', 2); // two of them wait in the queue
  clock.advance(5000);
  s.onQueue('api', 0, 5000); // both leave the queue after 5 s
  s.onQueue('api', 0, 5000);
  clock.advance(5000);
  for (let i = 0; i < 4; i++) end(200, 10_000, { route: '/a' });
  const snap = s.snapshot('api', clock.now(), 10);
  // started: 4 for 10 s → 4; queued: 2 for 5 s → 1; at instances 4 − 1 = 3
  assert.equal(snap.inflight, 3);
  assert.equal(snap.queue, 0);
  assert.equal(snap.queue_avg, 1);
  assert.equal(snap.queue_peak, 2);
  assert.ok(Math.abs(snap.queue_wait_ms.p50 - 5000) <= 50);
  assert.equal(snap.queue_wait_ms.count, 2);
});

test('queue depth is reported as of now, so a scale-from-zero queue shows at once', () => {
  const { clock, s } = setup();
  s.onStart('/a', 'api');
  s.onQueue('api', 1);
  clock.advance(10);
  const snap = s.snapshot('api', clock.now());
  assert.equal(snap.queue, 1);
  assert.equal(snap.inflight_now, 0);
});

test('a shed without a start, or an end without a start, never drives in flight negative', () => {
  const { clock, s, end } = setup();
  s.onShed('/a', 'api', 'queue_full');
  end(200, 1);
  clock.advance(2000);
  const snap = s.snapshot('api', clock.now());
  assert.equal(snap.inflight_now, 0);
  assert.ok(snap.inflight >= 0);
});

test('other shed reasons (e.g. body_too_large) appear next to the known ones', () => {
  const { clock, s } = setup();
  s.onStart('/a', 'api');
  s.onShed('/a', 'api', 'body_too_large');
  clock.advance(1000);
  assert.equal(s.snapshot('api', clock.now(), 1).shed_by_reason.body_too_large, 1);
});

test('onDispatch counts in flight per instance; idle instances are forgotten', () => {
  const { clock, s, end } = setup();
  s.onStart('/a', 'api');
  s.onDispatch('api', 'i9');
  assert.equal(s.snapshot('api', clock.now()).instances.i9!.inflight_now, 1);
  end(200, 5, { instance: 'i9' });
  assert.equal(s.snapshot('api', clock.now()).instances.i9!.inflight_now, 0);
  clock.advance(121_000);
  assert.equal(s.snapshot('api', clock.now()).instances.i9, undefined);
  s.onStart('/a', 'api');
  end(200, 5, { instance: 'i8' });
  s.forgetInstance('api', 'i8');
  assert.equal(s.snapshot('api', clock.now()).instances.i8, undefined);
});

test('event-loop lag is read at most once a second and averaged over the window', () => {
  const { clock, s, lag } = setup();
  s.snapshot('api', clock.now()); // reads 5
  s.snapshot('api', clock.now()); // too soon: no read
  clock.advance(1000);
  const snap = s.snapshot('api', clock.now()); // reads 15
  assert.equal(snap.event_loop_lag_ms, 10);
  assert.equal(s.eventLoop.maxLagMs(clock.now(), 10), 15);
  s.close();
  assert.equal(lag.closed, true);
});

test('the real perf_hooks source reads a blocked loop as lag', async () => {
  const src = perfHooksLagSource(5);
  await new Promise((r) => setTimeout(r, 30));
  src.read(); // discard warm-up
  await new Promise((r) => setTimeout(r, 10));
  const t = performance.now();
  while (performance.now() - t < 60); // block the loop for 60 ms
  await new Promise((r) => setTimeout(r, 20));
  const v = src.read();
  src.close();
  assert.ok(v !== undefined && v >= 40, `lag ${v}`);
});

test('a snapshot completes into an Observation the policies accept', () => {
  const { clock, s, end } = setup();
  s.onStart('/a', 'api');
  end(200, 3, { operationId: 'op' });
  clock.advance(1000);
  const obs = completeObservation({ ...s.snapshot('api', clock.now()), replicas: 2, ready: 2 });
  assert.equal(obs.rps, 0.1); // one request over the 10 s window
  assert.equal(obs.operations?.op?.rps, 0.1);
  assert.equal(typeof obs.latency.p99, 'number');
});

test('a snapshot of an unknown service is all zeros and does not register it', () => {
  const { clock, s } = setup();
  const snap = s.snapshot('nope', clock.now());
  assert.equal(snap.rps, 0);
  assert.equal(snap.latency.p99, 0);
  assert.deepEqual(snap.routes, {});
  assert.deepEqual(s.services(), []);
});

test('events carry the caller’s clock reading when given (the proxy passes the times it already read): counted in that second, not the clock’s', () => {
  const { clock, s } = setup();
  clock.advance(20_000); // the signals' own clock reads 20 s; the events say 5 s
  for (let i = 0; i < 10; i++) {
    s.onStart('/users/{id}', 'api', undefined, 5_000);
    s.onDispatch('api', 'i1', 5_000);
    s.onEnd({
      at: 5_500,
      route: '/users/{id}',
      service: 'api',
      instance: 'i1',
      status: 200,
      latencyMs: 1,
      bytesIn: 0,
      bytesOut: 0,
    });
  }
  const atFive = s.snapshot('api', 10_000, 10);
  assert.equal(atFive.offered_rps, 1);
  assert.equal(atFive.completed_rps, 1);
  assert.equal(atFive.instances.i1!.offered_rps, 1);
  // nothing was recorded at 20 s
  assert.equal(s.snapshot('api', 30_000, 5).offered_rps, 0);
});
