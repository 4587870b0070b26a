import { test } from 'node:test';
import assert from 'node:assert/strict';
import { slo } from '../../src/policy/builtin/slo.js';
import { testContext } from '../helpers/policy-context.js';

const lat = (p95: number) => ({ p50: p95 / 2, p95, p99: p95 * 1.5 });

test('slo scales up in proportion to the pressure on the worst operation, at most max_step', () => {
  const p = slo({});
  const out = p.evaluate(
    testContext({
      replicas: 4,
      ready: 4,
      cpu: 90,
      latency: lat(100),
      slo: { latency_p95_ms: 250 },
      operations: {
        search: { ...testContext({}).observation, latency: lat(300), slo: { latency_p95_ms: 250 } },
      },
    }),
  );
  assert.ok(out.ok);
  assert.equal(out.detail?.where, 'search');
  // 300 / (250 × 0.8) = 1.5 → ceil(4 × 1.5) = 6
  assert.equal(out.replicas, 6);
  const hot = p.evaluate(
    testContext({ replicas: 4, ready: 4, latency: lat(5000), slo: { latency_p95_ms: 250 } }),
  );
  assert.ok(hot.ok);
  assert.equal(hot.replicas, 8);
});

test('slo holds inside the band and scales down only as far as CPU allows', () => {
  const p = slo({ slo_ms: 200 });
  const hold = p.evaluate(testContext({ replicas: 5, ready: 5, cpu: 20, latency: lat(120) }));
  assert.ok(hold.ok);
  assert.equal(hold.replicas, 5);
  const down = p.evaluate(testContext({ replicas: 5, ready: 5, cpu: 20, latency: lat(40) }));
  assert.ok(down.ok);
  assert.equal(down.replicas, 2);
  const busy = p.evaluate(testContext({ replicas: 5, ready: 5, cpu: 80, latency: lat(40) }));
  assert.ok(busy.ok);
  assert.equal(busy.replicas, 5, 'low latency but busy CPU: no scale-down');
});

test('slo scales up while requests are shed, and keeps the count without any SLO', () => {
  const p = slo({ slo_ms: 250 });
  const shed = p.evaluate(testContext({ replicas: 2, ready: 2, latency: lat(100), shed_rps: 5 }));
  assert.ok(shed.ok);
  assert.equal(shed.replicas, 3);
  const none = slo({}).evaluate(testContext({ replicas: 3, ready: 3, latency: lat(900) }));
  assert.ok(none.ok);
  assert.equal(none.replicas, 3);
});

test('slo params are validated', () => {
  assert.throws(() => slo({ headroom: 2 }), /headroom: must be <= 1/);
  assert.throws(() => slo({ max_step: 1 }), /max_step: must be > 1/);
});
