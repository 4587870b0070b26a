/**
 * Issue 16 item 7: times in decision messages read as times, not as raw epoch milliseconds with
 * fractions (`panic until t=1796614369005.4211`). The message is what the log line, the event
 * log, the dashboard and the CLI print, so checking decide()'s message and steps covers them all.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initialDecisionState, type Decision } from '../../src/controller/decision.js';
import { constant, Driver, plainBehavior, specOf } from '../helpers/decide-fixtures.js';

// A wall-clock tick with a fraction, as performance-derived clocks give: 2026-12-07T12:00:07.4211Z.
const NOW = Date.UTC(2026, 11, 7, 12, 0, 7) + 0.4211;

/** Every text a person reads from a decision: the message and each step's note. */
function texts(d: Decision): string[] {
  return [d.message, ...d.steps.map((s) => s.note)];
}

/** No run of 10+ digits (an epoch in ms or s) and no `t=` stamp in any text. */
function assertNoRawTimes(d: Decision): void {
  for (const t of texts(d)) {
    assert.doesNotMatch(t, /\d{10,}/, `raw epoch in: ${t}`);
    assert.doesNotMatch(t, /\bt=/, `t= stamp in: ${t}`);
  }
}

test('a panic hold says until when and for how long, in UTC', () => {
  const spec = specOf(constant(2), {
    behavior: plainBehavior({ panic: { enabled: true, threshold: 2, holdMs: 60_000 } }),
  });
  const state = { ...initialDecisionState(), panicUntil: NOW + 58_000 };
  const decision = new Driver(spec, 4, state).tick(NOW);
  assert.equal(decision.reason, 'PanicHold');
  assertNoRawTimes(decision);
  assert.match(decision.message, /panic until 12:01:05Z \(58 s left, no scale-down\)/);
});

test('a panic scale-up names the end of the panic window', () => {
  const spec = specOf(constant(10), {
    behavior: plainBehavior({ panic: { enabled: true, threshold: 2, holdMs: 60_000 } }),
  });
  const decision = new Driver(spec, 2).tick(NOW);
  assertNoRawTimes(decision);
  assert.match(decision.message, /panic until 12:01:07Z \(1 min left; 10 ≥ 2 × 2 ready\)/);
});

test('a cooldown says until when and for how long', () => {
  const spec = specOf(constant(6), { behavior: plainBehavior({ cooldownMs: 30_000 }) });
  const state = { ...initialDecisionState(), lastChangeAt: NOW - 18_000 };
  const decision = new Driver(spec, 4, state).tick(NOW);
  assert.equal(decision.reason, 'Cooldown');
  assertNoRawTimes(decision);
  assert.match(decision.message, /cooldown until 12:00:19Z \(12 s left\), kept 4/);
});

test('a manual override with a TTL says until when; one on another day names the date', () => {
  const spec = specOf(constant(1), { behavior: plainBehavior() });
  const soon = { ...initialDecisionState(), override: { replicas: 5, until: NOW + 2 * 3_600_000 + 300_000 } };
  const a = new Driver(spec, 3, soon).tick(NOW);
  assertNoRawTimes(a);
  assert.equal(a.message, 'manual override: 3 → 5 until 14:05:07Z (2 h 5 min left)');
  const later = { ...initialDecisionState(), override: { replicas: 5, until: NOW + 86_400_000 } };
  const b = new Driver(spec, 3, later).tick(NOW);
  assertNoRawTimes(b);
  assert.match(b.message, /until 2026-12-08 12:00:07Z \(1 d left\)/);
});
