// The guard's risk budget (issue 22): a shadow HPA on the observed load counts the seconds it would
// have been over capacity; the fleet may spend a share of them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RiskBudget } from './predictive-risk-budget.js';

const budget = () => new RiskBudget({ share: 0.8, knee: 0.95, startupMs: 30_000, initial: 3 });

test('a 10× step: the shadow HPA lags (15 s sync, CPU saturating at 100 %, 30 s startup), a fleet that follows within seconds saves budget', () => {
  const b = budget();
  let ready = 3;
  for (let t = 0; t < 1_200_000; t += 1000) {
    const load = t >= 600_000 ? 2000 : 200;
    // the fleet: 29 instances ready 35 s after the step (5 s to notice it, 30 s to start)
    if (t >= 635_000) ready = 29;
    b.record(t, { load, ready, capacity: 100 });
  }
  // the fleet was over capacity from the step until its instances were ready (35 s), then the
  // backlog of those 35 s (1,700 req/s short) drained at 900 req/s (66 s more)
  assert.ok(b.ownMiss >= 95 && b.ownMiss <= 105, `own ${b.ownMiss}`);
  // the HPA sees at most 100 % CPU, so it grows by at most 1 / 0.7 per sync, each 30 s to start
  assert.ok(b.shadowMiss > 2 * b.ownMiss, `shadow ${b.shadowMiss} against own ${b.ownMiss}`);
  assert.equal(b.spare(), 0.8 * b.shadowMiss - b.ownMiss);
  assert.ok(b.spare() > 0);
});

test('a fleet that stays short spends more than its share: no budget to spare', () => {
  const b = budget();
  for (let t = 0; t < 1_200_000; t += 1000) b.record(t, { load: 1000, ready: 9, capacity: 100 });
  // the shadow settles at ceil(1000 / 70) = 15 and is over capacity only while it starts
  assert.ok(b.shadowMiss < 200, `shadow ${b.shadowMiss}`);
  assert.equal(b.ownMiss, 1200);
  assert.ok(b.spare() < 0);
});

test('the shadow holds its scale-down for 300 s: a load that comes back within it finds the fleet there', () => {
  const b = budget();
  const load = (t: number) => (t < 600_000 ? 1000 : t < 800_000 ? 100 : 1000);
  for (let t = 0; t < 1_200_000; t += 1000) {
    b.record(t, { load: load(t), ready: 15, capacity: 100 });
    if (t === 599_000) assert.ok(b.shadowMiss > 0, 'the shadow starts from 3 instances');
  }
  const before = b.shadowMiss;
  // 200 s at a tenth of the load, then back: the stabilization window kept the 15 instances
  const c = budget();
  for (let t = 0; t < 600_000; t += 1000) c.record(t, { load: 1000, ready: 15, capacity: 100 });
  assert.equal(before, c.shadowMiss + 0, 'no over-capacity second after the load came back');
});
