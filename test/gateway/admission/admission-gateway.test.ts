/**
 * Admission through a real gateway on 127.0.0.1:0: rate limits (429 + headers), the queue while no
 * instance is ready (scale from zero), queue full and queue timeout (503 + Retry-After), and the
 * Prometheus counters those requests leave behind. Queue timeouts run on a ManualClock and a
 * ManualScheduler; everything else waits on events, never on sleeps.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { EventEmitter, once } from 'node:events';
import { ManualClock, systemClock, type Clock } from '../../../src/core/clock.js';
import {
  createAdmission,
  type Admission,
  type TrafficOptions,
} from '../../../src/gateway/admission/admission.js';
import { ManualScheduler, type Scheduler } from '../../../src/gateway/admission/scheduler.js';
import { createSignals } from '../../../src/gateway/signals/signals.js';
import { createEventLoopLag } from '../../../src/gateway/signals/event-loop-lag.js';
import { createPrometheus } from '../../../src/gateway/prometheus.js';
import type { GatewayOptions } from '../../../src/gateway/gateway.js';
import { echo, request, startGateway, startUpstream } from '../helpers.js';

/** A gateway with one service `api` on `/`, admission built by createAdmission with queue events. */
async function setup(
  traffic: TrafficOptions,
  opts: { instances?: boolean; clock?: Clock; scheduler?: Scheduler; upstream?: http.RequestListener } = {},
) {
  const up = await startUpstream(opts.upstream ?? echo());
  const clock = opts.clock ?? systemClock;
  const queueDepth = new EventEmitter();
  const signals = createSignals(clock, { eventLoop: createEventLoopLag({ read: () => 0, close() {} }) });
  let admission: Admission | undefined;
  const options: GatewayOptions = {
    clock,
    signals,
    services: {
      api: {
        routes: [{ path_prefix: '/' }],
        traffic: traffic as GatewayOptions['services'][string]['traffic'],
        instances: opts.instances === false ? [] : [{ id: 'u1', url: up.url }],
      },
    },
    admission: (t, c, service) => {
      admission = createAdmission(t as TrafficOptions, c, {
        scheduler: opts.scheduler,
        onQueue: (depth, waitMs) => {
          signals.onQueue(service, depth, waitMs);
          queueDepth.emit('depth', depth);
        },
      });
      return admission;
    },
  };
  const { gw, port } = await startGateway(options);
  const prom = createPrometheus({
    signals,
    clock,
    admission: () => admission?.stats(),
    defaultMetrics: false,
  });
  /** Resolves once the queue holds `n` waiters. */
  const queued = (n: number) =>
    new Promise<void>((resolve) => {
      if (admission!.stats().queue >= n) return resolve();
      const on = (d: number) => {
        if (d >= n) {
          queueDepth.off('depth', on);
          resolve();
        }
      };
      queueDepth.on('depth', on);
    });
  return {
    gw,
    port,
    up,
    signals,
    prom,
    queued,
    admission: () => admission!,
    close: async () => {
      await gw.close({ graceMs: 100 });
      await up.close();
      signals.close();
    },
  };
}

test('over the rate limit the gateway answers 429 with Retry-After, RateLimit-* and a JSON error', async () => {
  const s = await setup({ rate_limit: { rps: 0.5, burst: 2, key: 'ip' } });
  try {
    assert.equal((await request(s.port)).status, 200);
    assert.equal((await request(s.port)).status, 200);
    const r = await request(s.port);
    assert.equal(r.status, 429);
    assert.equal(r.headers['retry-after'], '2');
    assert.equal(r.headers['ratelimit-limit'], '2');
    assert.equal(r.headers['ratelimit-remaining'], '0');
    assert.ok(Number(r.headers['ratelimit-reset']) >= 1);
    assert.equal(JSON.parse(r.body).error.code, 'LS_ERR_GATEWAY_RATE_LIMITED');
    const metrics = await s.prom.renderMetrics();
    assert.match(metrics, /luascale_shed_total\{service="api",route="[^"]+",reason="rate_limit"\} 1/);
    assert.match(metrics, /luascale_requests_offered_total\{service="api",route="[^"]+"\} 3/);
    assert.match(metrics, /luascale_requests_total\{service="api",route="[^"]+",code_class="2xx"\} 2/);
  } finally {
    await s.close();
  }
});

test('scale from zero: a request waits in the queue until an instance is added, then succeeds', async () => {
  const s = await setup({ queue: { max: 10, timeoutMs: 30_000 } }, { instances: false });
  try {
    const pending = request(s.port, { path: '/cold' });
    await s.queued(1);
    assert.equal(s.gw.admissionStats('api').limit, 0);
    s.gw.addInstance('api', { id: 'u1', url: s.up.url });
    const r = await pending;
    assert.equal(r.status, 200);
    assert.equal(JSON.parse(r.body).url, '/cold');
    assert.equal(s.admission().stats().queue, 0);
    assert.equal(s.signals.raw('api')!.queueWait.totalCount, 1);
  } finally {
    await s.close();
  }
});

test('queue full: with one slot busy and one waiter, the next request gets 503 queue_full; the waiter then passes', async () => {
  const held: http.ServerResponse[] = [];
  const arrived = new EventEmitter();
  const s = await setup(
    { concurrency: { per_instance: 1 }, queue: { max: 1, timeoutMs: 30_000 } },
    {
      upstream: (req, res) => {
        req.resume();
        held.push(res);
        arrived.emit('req');
      },
    },
  );
  try {
    const first = request(s.port, { path: '/1' });
    await once(arrived, 'req');
    const second = request(s.port, { path: '/2' });
    await s.queued(1);
    const third = await request(s.port, { path: '/3' });
    assert.equal(third.status, 503);
    assert.equal(JSON.parse(third.body).error.code, 'LS_ERR_GATEWAY_QUEUE_FULL');
    assert.ok(Number(third.headers['retry-after']) >= 1);
    held.shift()!.end('one');
    assert.equal((await first).body, 'one');
    await once(arrived, 'req');
    held.shift()!.end('two');
    assert.equal((await second).body, 'two');
    assert.match(
      await s.prom.renderMetrics(),
      /luascale_shed_total\{service="api",route="[^"]+",reason="queue_full"\} 1/,
    );
  } finally {
    for (const r of held) r.end();
    await s.close();
  }
});

test('queue timeout: a waiter with no instance gets 503 queue_timeout when its time is up (manual clock)', async () => {
  const clock = new ManualClock(1_000_000);
  const scheduler = new ManualScheduler();
  const s = await setup({ queue: { max: 10, timeoutMs: 2_000 } }, { instances: false, clock, scheduler });
  try {
    const pending = request(s.port, { path: '/wait' });
    await s.queued(1);
    clock.advance(1_999);
    scheduler.runDue(clock.now());
    assert.equal(s.admission().stats().queue, 1);
    clock.advance(1);
    scheduler.runDue(clock.now());
    const r = await pending;
    assert.equal(r.status, 503);
    assert.equal(JSON.parse(r.body).error.code, 'LS_ERR_GATEWAY_QUEUE_TIMEOUT');
    assert.equal(r.headers['retry-after'], '1');
    const snap = s.signals.snapshot('api', clock.now() + 1000, 10);
    assert.equal(snap.shed_by_reason.queue_timeout, 0.1);
    assert.equal(snap.queue, 0);
  } finally {
    await s.close();
  }
});

test('min == max: 6 concurrent 200-ms requests on 2 slots are all served from the queue (#17 item 4)', async () => {
  const s = await setup(
    { concurrency: { per_instance: 2 }, atMaxReplicas: true },
    {
      upstream: (req, res) => {
        req.resume();
        setTimeout(() => res.end('ok'), 200); // the work itself, not synchronisation
      },
    },
  );
  try {
    const t0 = Date.now();
    const rs = await Promise.all(Array.from({ length: 6 }, () => request(s.port)));
    assert.deepEqual(
      rs.map((r) => r.status),
      [200, 200, 200, 200, 200, 200],
      rs.map((r) => r.body).join('\n'),
    );
    assert.ok(Date.now() - t0 >= 550, 'three rounds of two: they waited in the queue');
  } finally {
    await s.close();
  }
});
