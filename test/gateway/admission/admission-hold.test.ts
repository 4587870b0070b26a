/** Admission's hold gate (the llm balancer's "every instance saturated"): requests queue, then go in order. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../../src/core/clock.js';
import { createAdmission, type AdmitResult } from '../../../src/gateway/admission/admission.js';
import { ManualScheduler } from '../../../src/gateway/admission/scheduler.js';

const flush = () => new Promise<void>((r) => setImmediate(r));

test('while hold() is true a request waits in the queue with slots free; tick() lets it in when it turns false', async () => {
  const clock = new ManualClock(0);
  let saturated = true;
  const a = createAdmission({ queue: { max: 2, timeoutMs: 10_000 } }, clock, {
    scheduler: new ManualScheduler(),
    hold: () => saturated,
  });
  a.setReadyInstances(2);
  const got: AdmitResult[] = [];
  const first = a.admit({ key: 'k', route: '/r', now: clock.now() });
  assert.ok(first instanceof Promise, 'held, not granted at once');
  void first.then((r) => got.push(r));
  void Promise.resolve(a.admit({ key: 'k', route: '/r', now: clock.now() })).then((r) => got.push(r));
  const third = a.admit({ key: 'k', route: '/r', now: clock.now() });
  assert.ok(
    !(third instanceof Promise) && !third.ok && third.reason === 'queue_full',
    'beyond the queue: shed',
  );
  assert.equal(a.stats().queue, 2);
  a.tick(clock.now());
  await flush();
  assert.equal(got.length, 0, 'still saturated: nobody let in');
  saturated = false;
  clock.advance(250);
  a.tick(clock.now());
  await flush();
  assert.deepEqual(
    got.map((r) => r.ok && r.queuedMs),
    [250, 250],
  );
  assert.ok(
    !(a.admit({ key: 'k', route: '/r', now: clock.now() }) instanceof Promise),
    'not held: granted at once',
  );
});
