/**
 * The sources as the controller uses them: a real HTTP JSON source behind a ServiceController with
 * a ManualClock. Its value reaches ctx.metrics (and alert rules) once per interval, not per tick; a
 * failing endpoint makes the value go missing, fills errors.metricSources and fires
 * MetricSourceDown, and recovery resolves it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { once } from 'node:events';
import { ManualClock } from '../../src/core/clock.js';
import { ServiceController } from '../../src/controller/service-controller.js';
import type { AlertNotice } from '../../src/controller/alert-engine.js';
import { StaticProvider } from '../../src/providers/static-provider.js';
import { createMetricSources } from '../../src/app/metric-sources-from-config.js';
import { rpsScalingSpec } from '../helpers/scaling-spec.js';

test('a real HTTP source feeds the loop once per interval; failure → value missing + MetricSourceDown; recovery resolves', async (t) => {
  let hits = 0;
  let answer: { status: number; body: string } = { status: 200, body: '{"jobs":{"pending":12}}' };
  const server = createServer((_req, res) => {
    hits++;
    res.statusCode = answer.status;
    res.end(answer.body);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/stats`;

  const clock = new ManualClock(1_000_000, Date.now());
  const provider = new StaticProvider({ service: 'web', targets: ['http://127.0.0.1:1'], clock });
  const alerts: AlertNotice[] = [];
  const controller = new ServiceController({
    spec: rpsScalingSpec(),
    provider,
    clock,
    signals: { snapshot: () => ({ rps: 10 }) },
    metricSources: createMetricSources('web', [
      { name: 'pending', http: { url, json_path: 'jobs.pending' }, interval: '5s', timeout: '1s' },
    ]),
    alertRules: [
      { name: 'Backlog', metric: 'pending', op: '>', threshold: 10, forMs: 0, severity: 'warning' },
    ],
    onAlerts: (n) => alerts.push(...n),
  });
  t.after(() => provider.close?.());

  for (let i = 0; i < 5; i++) {
    await controller.tick();
    assert.equal(controller.status().lastObservation?.metrics?.pending, 12);
    clock.advance(1000);
  }
  assert.equal(hits, 1, 'five 1 s ticks, one fetch of a 5 s source');
  assert.ok(
    alerts.some((a) => a.status === 'firing' && a.alert.name === 'Backlog'),
    'alert rules see the source value',
  );

  answer = { status: 503, body: 'overloaded' };
  await controller.tick(); // t = +5 s: the cache is stale, the fetch fails
  assert.equal(hits, 2);
  const st = controller.status();
  assert.equal(st.lastObservation?.metrics?.pending, undefined);
  assert.match(
    st.errors.metricSources.pending ?? '',
    /^metric source "pending" \(GET http:\/\/127\.0\.0\.1:\d+\/stats, path \$\.jobs\.pending\): answered HTTP 503: overloaded$/,
  );
  const down = alerts.find((a) => a.alert.name === 'MetricSourceDown');
  assert.equal(down?.status, 'firing');
  assert.match(down!.alert.message, /pending: metric source "pending" .*HTTP 503/);

  answer = { status: 200, body: '{"jobs":{"pending":3}}' };
  clock.advance(5000);
  await controller.tick();
  assert.equal(controller.status().lastObservation?.metrics?.pending, 3);
  assert.deepEqual(controller.status().errors.metricSources, {});
  assert.ok(alerts.some((a) => a.status === 'resolved' && a.alert.name === 'MetricSourceDown'));
  assert.ok(alerts.some((a) => a.status === 'resolved' && a.alert.name === 'Backlog'));
});
