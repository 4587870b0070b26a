import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DEFAULT_HEALTH_THRESHOLDS as T,
  isEligible,
  newHealthState,
  recordOutcome,
  tickHealth,
} from '../../src/gateway/health-state.js';

test('healthy → suspect on the first failure, back to healthy on a success', () => {
  const s = newHealthState();
  assert.equal(recordOutcome(s, false, 0, T), 'suspect');
  assert.ok(isEligible(s));
  assert.equal(recordOutcome(s, true, 1, T), 'healthy');
});

test('consecutive_errors failures eject; the ejection expires into probing', () => {
  const s = newHealthState();
  for (let i = 0; i < T.consecutiveErrors - 1; i++) recordOutcome(s, false, i, T);
  assert.equal(s.status, 'suspect');
  assert.equal(recordOutcome(s, false, 100, T), 'ejected');
  assert.ok(!isEligible(s));
  assert.equal(s.ejectedUntil, 100 + T.baseEjectionMs);
  assert.equal(tickHealth(s, 100 + T.baseEjectionMs - 1), undefined);
  assert.equal(tickHealth(s, 100 + T.baseEjectionMs), 'probing');
  assert.ok(isEligible(s));
});

test('a failure while probing ejects again with doubled backoff; a success restores healthy', () => {
  const s = newHealthState();
  const t = { ...T, consecutiveErrors: 1 };
  recordOutcome(s, false, 0, t);
  tickHealth(s, t.baseEjectionMs);
  assert.equal(recordOutcome(s, false, t.baseEjectionMs, t), 'ejected');
  assert.equal(s.ejectedUntil, t.baseEjectionMs + 2 * t.baseEjectionMs);
  tickHealth(s, s.ejectedUntil);
  assert.equal(recordOutcome(s, true, s.ejectedUntil, t), 'healthy');
});

test('backoff is capped at maxEjection and resets after a quiet maxEjection period', () => {
  const t = { ...T, consecutiveErrors: 1, baseEjectionMs: 100, maxEjectionMs: 300 };
  const s = newHealthState();
  let now = 0;
  const lengths: number[] = [];
  for (let i = 0; i < 4; i++) {
    recordOutcome(s, false, now, t);
    lengths.push(s.ejectedUntil - now);
    now = s.ejectedUntil;
    tickHealth(s, now);
  }
  assert.deepEqual(lengths, [100, 200, 300, 300]);
  recordOutcome(s, true, now, t);
  now += 1000;
  recordOutcome(s, false, now, t);
  assert.equal(s.ejectedUntil - now, 100);
});

test('active probes eject after unhealthy_threshold failures and need healthy_threshold successes', () => {
  const t = { ...T, unhealthyThreshold: 2, healthyThreshold: 2 };
  const s = newHealthState();
  assert.equal(recordOutcome(s, false, 0, { ...t, active: true }), 'suspect');
  assert.equal(recordOutcome(s, false, 1, { ...t, active: true }), 'ejected');
  tickHealth(s, s.ejectedUntil);
  assert.equal(recordOutcome(s, true, s.ejectedUntil, { ...t, active: true }), undefined);
  assert.equal(s.status, 'probing');
  assert.equal(recordOutcome(s, true, s.ejectedUntil + 1, { ...t, active: true }), 'healthy');
});

test('mayEject=false (max ejection percent reached) keeps the instance suspect', () => {
  const s = newHealthState();
  const t = { ...T, consecutiveErrors: 1 };
  recordOutcome(s, false, 0, { ...t, mayEject: false });
  assert.equal(s.status, 'suspect');
});

test('results arriving while ejected are ignored', () => {
  const s = newHealthState();
  const t = { ...T, consecutiveErrors: 1 };
  recordOutcome(s, false, 0, t);
  assert.equal(recordOutcome(s, true, 1, t), undefined);
  assert.equal(s.status, 'ejected');
});
