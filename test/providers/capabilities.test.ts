/**
 * Optional Provider capabilities reach the controller through the interface, also through the
 * cluster's fenced wrapper: the wrapper offers exactly what the wrapped provider offers and runs
 * the same contract suite.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ProcessProvider } from '../../src/providers/process-provider.js';
import { StaticProvider } from '../../src/providers/static-provider.js';
import { fencedProvider } from '../../src/cluster/fenced-provider.js';
import type { LeaderLease } from '../../src/cluster/leader-lease.js';
import { PROVIDER_CAPABILITIES, type Provider } from '../../src/controller/provider.js';
import { ServiceController } from '../../src/controller/service-controller.js';
import { ManualClock } from '../../src/core/clock.js';
import { isLuascaleError } from '../../src/core/errors.js';
import { providerContract } from './provider-contract.js';
import { demoCommand } from './fixtures/demo.js';
import { rpsScalingSpec } from '../helpers/scaling-spec.js';

const root = mkdtempSync(join(tmpdir(), 'luascale-cap-'));
after(() => rmSync(root, { recursive: true, force: true }));

/** A lease whose answer the test sets (the real one needs Redis: test/cluster). */
function lease(held = true): LeaderLease & { held: boolean } {
  const l = {
    held,
    holder: 'other#1',
    isHeld: () => l.held,
    check: async () => l.held,
  };
  return l as unknown as LeaderLease & { held: boolean };
}

let n = 0;
function processProvider(): ProcessProvider {
  return new ProcessProvider({
    service: 'demo',
    command: demoCommand,
    logDir: join(root, `logs-${n++}`),
    readiness: { intervalMs: 20, timeoutMs: 1000, startTimeoutMs: 10_000 },
    stopGraceMs: 3000,
    onError: () => {},
  });
}

providerContract('process, fenced (leader)', async () => {
  const inner = processProvider();
  return { provider: fencedProvider(inner, lease()), cleanup: () => inner.close() };
});

describe('fenced provider capabilities', () => {
  it('offers exactly the optional capabilities of the provider it wraps', async () => {
    const process = processProvider();
    const fixed = new StaticProvider({ service: 's', targets: ['http://127.0.0.1:9'] });
    try {
      for (const inner of [process, fixed] as Provider[]) {
        const wrapped = fencedProvider(inner, lease());
        for (const cap of PROVIDER_CAPABILITIES)
          assert.equal(typeof wrapped[cap], typeof inner[cap], `${inner.kind}: ${cap}`);
      }
      assert.equal(typeof process.adopt, 'function', 'the process provider adopts');
    } finally {
      await Promise.all([process.close(), fixed.close()]);
    }
  });

  it('forwards pendingReplacements(), and only the leader adopts', async () => {
    const calls: string[] = [];
    const inner: Provider = {
      kind: 'fake',
      service: 'api',
      advisory: false,
      list: () => [],
      launch: () => Promise.reject(new Error('unused')),
      drain: async () => {},
      stop: async () => {},
      close: async () => {},
      on: () => () => {},
      pendingReplacements: () => 2,
      adopt: async () => {
        calls.push('adopt');
        return { adopted: [], stopped: [], forgotten: [] };
      },
    };
    const l = lease(false);
    const wrapped = fencedProvider(inner, l);
    assert.equal(wrapped.pendingReplacements?.(), 2);
    await assert.rejects(wrapped.adopt!(), (err) => isLuascaleError(err, 'LS_ERR_PROVIDER_COMMAND'));
    assert.deepEqual(calls, []);
    l.held = true;
    await wrapped.adopt!();
    assert.deepEqual(calls, ['adopt']);
  });

  it('the controller counts pending replacements through the wrapper and launches only the rest', async () => {
    let launches = 0;
    const inner: Provider = {
      kind: 'fake',
      service: 'api',
      advisory: false,
      list: () => [],
      launch: async () => {
        launches++;
        return {
          id: `i${launches}`,
          service: 'api',
          url: 'http://127.0.0.1:9',
          state: 'starting',
          startedAt: 0,
        };
      },
      drain: async () => {},
      stop: async () => {},
      close: async () => {},
      on: () => () => {},
      pendingReplacements: () => 1,
    };
    const controller = new ServiceController({
      spec: rpsScalingSpec({ service: 'api', min: 3, max: 3 }),
      provider: fencedProvider(inner, lease()),
      clock: new ManualClock(0),
      signals: { snapshot: () => ({ rps: 10 }) },
    });
    const d = await controller.tick();
    assert.equal(d.replicas, 3);
    assert.equal(launches, 2, '3 wanted, 0 live, 1 replacement coming');
  });
});
