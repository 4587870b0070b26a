import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AlertEngine, ruleConditions, type AlertRule } from './alert-engine.js';

const rule: AlertRule = {
  name: 'HighP95',
  metric: 'latency.p95',
  op: '>',
  threshold: 250,
  forMs: 30_000,
  severity: 'warning',
};

test('a rule fires only after its condition held for `for`, then once, then resolves once', () => {
  const engine = new AlertEngine({ repeatIntervalMs: 3_600_000 });
  const at = (t: number, p95: number) =>
    engine.update('api', ruleConditions([rule], { 'latency.p95': p95 }), t);
  assert.deepEqual(at(0, 300), []);
  assert.deepEqual(at(29_000, 300), []);
  const fired = at(30_000, 310);
  assert.equal(fired.length, 1);
  assert.equal(fired[0]!.status, 'firing');
  assert.equal(fired[0]!.alert.startsAt, 30_000);
  assert.deepEqual(at(31_000, 320), [], 'de-duplicated while firing');
  assert.equal(engine.firing('api').length, 1);
  const resolved = at(40_000, 100);
  assert.deepEqual(
    resolved.map((n) => [n.status, n.alert.endsAt]),
    [['resolved', 40_000]],
  );
  assert.deepEqual(at(41_000, 100), []);
  assert.equal(engine.firing().length, 0);
});

test('a dip below the threshold restarts the `for` timer', () => {
  const engine = new AlertEngine({ repeatIntervalMs: 1e9 });
  const at = (t: number, p95: number) =>
    engine.update('api', ruleConditions([rule], { 'latency.p95': p95 }), t);
  at(0, 300);
  at(20_000, 100);
  assert.deepEqual(at(35_000, 300), []);
  assert.equal(at(65_000, 300).length, 1);
});

test('a firing alert repeats at the repeat interval', () => {
  const engine = new AlertEngine({ repeatIntervalMs: 10_000 });
  const c = [{ name: 'AtMaxShedding', active: true, severity: 'critical' as const, message: 'at max' }];
  assert.equal(engine.update('api', c, 0)[0]!.repeat, false);
  assert.deepEqual(engine.update('api', c, 5_000), []);
  const again = engine.update('api', c, 10_000);
  assert.equal(again.length, 1);
  assert.equal(again[0]!.repeat, true);
});

test('a missing metric never fires a rule', () => {
  const engine = new AlertEngine({ repeatIntervalMs: 1e9 });
  assert.deepEqual(engine.update('api', ruleConditions([{ ...rule, forMs: 0 }], {}), 0), []);
});

test('alerts of different services are independent', () => {
  const engine = new AlertEngine({ repeatIntervalMs: 1e9 });
  const c = [{ name: 'X', active: true, severity: 'info' as const, message: 'x' }];
  assert.equal(engine.update('a', c, 0).length, 1);
  assert.equal(engine.update('b', c, 0).length, 1);
  assert.equal(engine.firing('a').length, 1);
});
