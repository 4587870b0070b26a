/**
 * Issue 17 item 10 (and the controller side of item 12): actuation failures are visible in
 * status and alerts, not only as events; spawn failures count toward CrashLoop.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock } from '../../src/core/clock.js';
import { ProcessProvider } from '../../src/providers/process-provider.js';
import { ServiceController, type ControllerEvent } from '../../src/controller/service-controller.js';
import { advisoryProvider } from '../helpers/advisory-provider.js';
import { rpsScalingSpec } from '../helpers/scaling-spec.js';

test('a command that cannot be spawned shows in status, raises ActuationFailing, and repeated it is a CrashLoop', async (t) => {
  const clock = new ManualClock(1_000_000);
  const provider = new ProcessProvider({
    service: 'web',
    command: [join(tmpdir(), 'luascale-no-such-command')],
    logDir: mkdtempSync(join(tmpdir(), 'ls-act-')),
    onError: () => {},
  });
  t.after(() => provider.close());
  const events: ControllerEvent[] = [];
  const controller = new ServiceController({
    spec: rpsScalingSpec(),
    provider,
    clock,
    signals: { snapshot: () => ({ rps: 50 }) },
    onEvent: (e) => events.push(e),
  });
  await controller.tick();
  const first = controller.status().actuationError;
  assert.equal(first?.stage, 'launch');
  assert.equal(first?.failures, 1);
  assert.match(first?.message ?? '', /luascale-no-such-command: .*ENOENT/);
  assert.ok(
    controller.firingAlerts().some((a) => a.name === 'ActuationFailing' && /ENOENT/.test(a.message)),
    JSON.stringify(controller.firingAlerts()),
  );
  // The controller backs off 1 s, then 2 s; the third failed spawn in a row is a crash loop.
  for (const wait of [1000, 2000]) {
    clock.advance(wait);
    await controller.tick();
  }
  assert.equal(controller.status().actuationError?.failures, 3);
  assert.ok(
    events.some((e) => e.type === 'alert' && e.data.name === 'CrashLoop'),
    'spawn failures count toward CrashLoop',
  );
  assert.ok(controller.firingAlerts().some((a) => a.name === 'CrashLoop'));
});

test('a provider that cannot list its targets shows in status until a list succeeds again', async () => {
  const clock = new ManualClock(1_000_000);
  const { provider, events } = advisoryProvider();
  const seen: ControllerEvent[] = [];
  const controller = new ServiceController({
    spec: rpsScalingSpec(),
    provider,
    clock,
    signals: { snapshot: () => ({ rps: 0 }) },
    onEvent: (e) => seen.push(e),
  });
  events.emit('sync', { ok: false, message: '`list.sh` exited with code 1', failures: 2, retryInMs: 200 });
  assert.deepEqual(controller.status().actuationError, {
    stage: 'list',
    message: '`list.sh` exited with code 1',
    at: clock.wallNow(),
    failures: 2,
  });
  assert.ok(seen.some((e) => e.type === 'error' && e.data.stage === 'list' && e.data.retryInMs === 200));
  await controller.tick();
  assert.ok(controller.firingAlerts().some((a) => a.name === 'ActuationFailing'));
  events.emit('sync', { ok: true });
  assert.equal(controller.status().actuationError, null);
});
