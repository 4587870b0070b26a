import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ManualClock } from '../../src/core/clock.js';
import { ProcessProvider } from '../../src/providers/process-provider.js';
import { ServiceController, type ControllerEvent } from '../../src/controller/service-controller.js';
import { defaultBehavior } from '../../src/controller/decide.js';
import { loadBuiltin } from '../../src/policy/builtins.js';
import type { Provider } from '../../src/controller/provider.js';
import { advisoryProvider } from '../helpers/advisory-provider.js';
import { rpsScalingSpec } from '../helpers/scaling-spec.js';

const backend = resolve('examples/demo-backend/server.mjs');

function waitFor(provider: Provider, event: 'ready' | 'exited', count: number): Promise<void> {
  return new Promise((done) => {
    let n = 0;
    const off = provider.on(event, () => {
      if (++n >= count) {
        off();
        done();
      }
    });
  });
}

function setup(command = [process.execPath, backend]) {
  const clock = new ManualClock(1_000_000);
  const provider = new ProcessProvider({
    service: 'web',
    command,
    logDir: mkdtempSync(join(tmpdir(), 'ls-ctl-')),
    stopGraceMs: 2000,
    readiness: { intervalMs: 20, timeoutMs: 500, startTimeoutMs: 10_000 },
    onError: () => {},
  });
  const signals = { rps: 50 };
  const events: ControllerEvent[] = [];
  const controller = new ServiceController({
    spec: rpsScalingSpec(),
    provider,
    clock,
    signals: { snapshot: () => ({ rps: signals.rps }) },
    onEvent: (e) => events.push(e),
  });
  return { clock, provider, signals, events, controller };
}

test('the loop scales real processes up on load, holds through the stabilization window, then scales down', async (t) => {
  const { clock, provider, signals, controller } = setup();
  t.after(() => provider.close());

  let ready = waitFor(provider, 'ready', 1);
  let d = await controller.tick();
  assert.equal(d.replicas, 1, `${d.reason}: ${d.message}`);
  await ready;
  assert.equal(provider.list().filter((i) => i.state === 'ready').length, 1);

  signals.rps = 100; // ceil(100 / 50 per instance) = 2
  clock.advance(1000);
  ready = waitFor(provider, 'ready', 1);
  d = await controller.tick();
  assert.equal(d.replicas, 2);
  assert.match(d.reason, /ScaleUp$/, 'ScaleUp or PanicScaleUp (2 ≥ 2 × 1 ready enters panic)');
  await ready;

  signals.rps = 10; // wants 1: panic holds for 60 s, then the 300 s scale-down window holds 2
  clock.advance(1000);
  d = await controller.tick();
  assert.equal(d.replicas, 2);
  assert.equal(d.reason, 'PanicHold');
  clock.advance(61_000);
  d = await controller.tick();
  assert.equal(d.replicas, 2);
  assert.equal(d.reason, 'ScaleDownStabilized');

  clock.advance(240_000);
  const exited = waitFor(provider, 'exited', 1);
  d = await controller.tick();
  assert.equal(d.replicas, 1);
  assert.equal(d.reason, 'ScaleDown');
  await exited;
  assert.equal(provider.list().length, 1);
});

test('a manual override wins until it expires, and pausing holds the count', async (t) => {
  const { clock, provider, controller, events } = setup();
  t.after(() => provider.close());
  await controller.tick();
  controller.setOverride(3, 10_000);
  clock.advance(1000);
  const ready = waitFor(provider, 'ready', 3);
  let d = await controller.tick();
  assert.equal(d.reason, 'ManualOverride');
  assert.equal(d.replicas, 3);
  await ready;
  controller.setPaused(true);
  clock.advance(20_000);
  d = await controller.tick();
  assert.equal(d.reason, 'Paused');
  assert.equal(provider.list().length, 3);
  assert.ok(events.some((e) => e.type === 'override'));
});

test('a provider that cannot launch never crashes the loop: an error event and a back-off follow', async (t) => {
  const { clock, provider, controller, events } = setup(['/nonexistent/binary']);
  t.after(() => provider.close());
  const d = await controller.tick();
  assert.equal(d.replicas, 1);
  clock.advance(1000);
  await controller.tick();
  const status = controller.status();
  assert.ok(
    status.errors.actuation || events.some((e) => e.type === 'instance' && e.data.state === 'failed'),
    JSON.stringify(events),
  );
});

test('a failing signal source yields NoData and keeps the count', async (t) => {
  const { provider, clock } = setup();
  t.after(() => provider.close());
  const controller = new ServiceController({
    spec: {
      service: 'web',
      min: 0,
      max: 4,
      intervalMs: 1000,
      behavior: defaultBehavior(),
      policy: loadBuiltin('target-tracking', { metric: 'cpu', target: 50 }),
      params: {},
    },
    provider,
    clock,
    signals: {
      snapshot: () => {
        throw new Error('gateway gone');
      },
    },
  });
  const d = await controller.tick();
  assert.equal(d.reason, 'NoData');
  assert.equal(controller.status().errors.actuation, null);
});

test('a steady decision is recorded once, and again after recordNextDecision (a follower that just became leader)', async () => {
  const clock = new ManualClock(1_000_000);
  const { provider } = advisoryProvider();
  const decisions: ControllerEvent[] = [];
  const controller = new ServiceController({
    spec: rpsScalingSpec({ min: 0 }),
    provider,
    clock,
    signals: { snapshot: () => ({ rps: 0 }) },
    onEvent: (e) => e.type === 'decision' && decisions.push(e),
  });
  for (let i = 0; i < 3; i++) {
    await controller.tick();
    clock.advance(1000);
  }
  assert.equal(decisions.length, 1, 'a steady state is recorded once');
  controller.recordNextDecision();
  await controller.tick();
  clock.advance(1000);
  await controller.tick();
  assert.equal(decisions.length, 2, 'the next steady decision is recorded, then steady again');
});
