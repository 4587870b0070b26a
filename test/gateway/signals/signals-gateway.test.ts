/**
 * Signals fed by a real gateway on 127.0.0.1:0: per service, route template, operation and
 * instance, including errors, sheds and bytes. Rates are read one second ahead of the clock so the
 * current second counts as complete (snapshot is a pure read at any `now`).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { systemClock } from '../../../src/core/clock.js';
import { createSignals } from '../../../src/gateway/signals/signals.js';
import { createEventLoopLag } from '../../../src/gateway/signals/event-loop-lag.js';
import { request, startGateway, startUpstream } from '../helpers.js';

test('a gateway feeds offered, completed, status classes, latency and bytes per route, operation and instance', async () => {
  const up = await startUpstream((req, res) => {
    req.resume();
    req.on('end', () => {
      const fail = req.url!.startsWith('/users/13');
      res.writeHead(fail ? 500 : 200, { 'content-type': 'text/plain' });
      res.end(fail ? 'no' : 'hello');
    });
  });
  const signals = createSignals(systemClock, {
    eventLoop: createEventLoopLag({ read: () => 2, close() {} }),
  });
  const { gw, port } = await startGateway({
    signals,
    services: {
      api: {
        routes: [{ path: '/users/{id}', operationId: 'getUser' }, { path_prefix: '/static' }],
        instances: [{ id: 'u1', url: up.url }],
        traffic: { rate_limit: { rps: 0.001, burst: 4, key: 'global' } } as never,
      },
    },
  });
  try {
    for (const id of [1, 2, 13]) assert.ok((await request(port, { path: `/users/${id}` })).status > 0);
    assert.equal(
      (await request(port, { path: '/static/a.css', method: 'POST', body: 'x'.repeat(10) })).status,
      200,
    );
    assert.equal((await request(port, { path: '/static/b.css' })).status, 429); // burst of 4 spent
    const snap = signals.snapshot('api', systemClock.now() + 1000, 10);
    assert.equal(snap.offered_rps, 0.5); // 5 requests over 10 s
    assert.equal(snap.completed_rps, 0.4);
    assert.equal(snap.shed_by_reason.rate_limit, 0.1);
    assert.equal(snap.admitted_rps, 0.4);
    assert.equal(snap.status['5xx'], 0.1);
    assert.equal(snap.error_rate, 0.25);
    assert.equal(snap.inflight_now, 0);
    assert.ok(snap.latency.p99 > 0);
    assert.deepEqual(Object.keys(snap.routes).sort(), ['/static/*', '/users/{id}']);
    assert.equal(snap.routes['/users/{id}']!.completed_rps, 0.3);
    assert.equal(snap.operations.getUser!.completed_rps, 0.3);
    assert.equal(snap.instances.u1!.completed_rps, 0.4);
    assert.equal(snap.instances.u1!.inflight_now, 0);
    assert.ok(snap.bytes_in_per_s >= 1, `bytes in ${snap.bytes_in_per_s}`);
    assert.equal(snap.event_loop_lag_ms, 2);
  } finally {
    await gw.close({ graceMs: 100 });
    await up.close();
    signals.close();
  }
});
