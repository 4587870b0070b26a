/** Regression tests for bugs the fault suite found in other areas (one test per bug, named after it). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../src/core/clock.js';
import { ServiceController } from '../../src/controller/service-controller.js';
import { StaticProvider } from '../../src/providers/static-provider.js';
import { rpsScalingSpec } from '../helpers/scaling-spec.js';

test('regression: a metric source that never answered stalled the control loop (and stop()) forever', async () => {
  const clock = new ManualClock(1_000_000);
  const c = new ServiceController({
    spec: rpsScalingSpec(),
    provider: new StaticProvider({ service: 'web', targets: ['http://127.0.0.1:1'] }),
    clock,
    signals: { snapshot: () => ({ rps: 100 }) },
    metricSources: [{ name: 'hung', timeoutMs: 50, read: () => new Promise<number>(() => {}) }],
  });
  const d = await c.tick();
  assert.equal(d.replicas, 2, 'the tick decided from the gateway signals');
  assert.match(c.status().errors.metricSources.hung ?? '', /no answer within 50 ms/);
  await c.stop();
});

test('regression: a failing alert webhook logged its full URL, token in the path included', async () => {
  const { createServer } = await import('node:http');
  const { webhookNotifier } = await import('../../src/controller/alert-notifier.js');
  const server = createServer((_q, r) => ((r.statusCode = 500), r.end()));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const port = (server.address() as { port: number }).port;
    const errors: string[] = [];
    const notify = webhookNotifier({
      url: `http://127.0.0.1:${port}/hooks/T000/SECRET-abc123?token=q-secret`,
      onError: (e) => errors.push(e.message),
    });
    await notify([
      {
        status: 'firing',
        repeat: false,
        alert: { service: 'web', name: 'X', severity: 'warning', message: 'm', startsAt: 0 },
      },
    ]);
    assert.equal(errors.length, 1);
    assert.match(errors[0]!, /answered 500/);
    assert.ok(!/SECRET|q-secret/.test(errors[0]!), errors[0]);
  } finally {
    server.close();
  }
});

test('regression: a GET whose instance reset the connection before answering (SIGKILL mid-request) got 502 instead of a retry', async () => {
  const { createServer } = await import('node:http');
  const { request } = await import('undici');
  const { startHarness } = await import('./fault-harness.js');
  const bad = createServer((req) => req.socket.resetAndDestroy());
  const good = createServer((_q, res) => res.end('ok'));
  await new Promise<void>((r) => bad.listen(0, '127.0.0.1', r));
  await new Promise<void>((r) => good.listen(0, '127.0.0.1', r));
  const port = (s: typeof bad) => (s.address() as { port: number }).port;
  const h = await startHarness(`
gateway: { listen: "127.0.0.1:0", access_log: "off" }
admin: { listen: "127.0.0.1:0" }
store: { sqlite: "\${DIR}/ls.db" }
services:
  web:
    provider: { static: { targets: ["http://127.0.0.1:${port(bad)}", "http://127.0.0.1:${port(good)}"] } }
    scaling: { min: 1, max: 2, policy: { builtin: target-tracking, params: { metric: rps, target: 1000 } } }
    balancer: { algorithm: round-robin }
`);
  try {
    for (let i = 0; i < 2; i++) {
      const get = await request(`${h.app.gatewayUrl}/x`);
      assert.equal(get.statusCode, 200, await get.body.text());
      await get.body.dump();
    }
    // Not idempotent: never retried, a clear 502 when it lands on the resetting instance.
    const posts = await Promise.all(
      [0, 1].map(async () => {
        const r = await request(`${h.app.gatewayUrl}/x`, { method: 'POST', body: 'x' });
        return { status: r.statusCode, text: await r.body.text() };
      }),
    );
    assert.ok(
      posts.some((p) => p.status === 502 && /ECONNRESET|UPSTREAM_ERROR/.test(p.text)),
      JSON.stringify(posts),
    );
  } finally {
    await h.close();
    bad.close();
    good.close();
  }
});
