/**
 * The shared Provider contract: every provider's test runs this suite (hono's routers share one
 * suite the same way). Advisory providers (static) must record but never change their targets.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  PROVIDER_CAPABILITIES,
  type Instance,
  type Provider,
  type ProviderEvents,
} from '../../src/controller/provider.js';
import { isLuascaleError } from '../../src/core/errors.js';

/** One fresh provider per test, and how to dispose of it. */
export interface ContractSubject {
  provider: Provider;
  cleanup(): Promise<void>;
}

/** What the contract needs to know about a provider. */
export interface ContractOptions {
  /** Upper bound for waiting on an event, so a broken provider fails the test instead of hanging it. */
  eventTimeoutMs?: number;
}

const LIVE = new Set(['starting', 'ready', 'draining']);

/** Resolves with the arguments of the first `event` whose first argument satisfies `match`; rejects after `timeoutMs`. */
export function nextEvent<E extends keyof ProviderEvents>(
  provider: Provider,
  event: E,
  match: (...args: Parameters<ProviderEvents[E]>) => boolean = () => true,
  timeoutMs = 15_000,
): Promise<Parameters<ProviderEvents[E]>> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`no "${event}" event within ${timeoutMs} ms`));
    }, timeoutMs);
    const off = provider.on(event, ((...args: Parameters<ProviderEvents[E]>) => {
      if (!match(...args)) return;
      clearTimeout(timer);
      off();
      resolve(args);
    }) as ProviderEvents[E]);
  });
}

function assertInstanceShape(i: Instance, service: string): void {
  assert.equal(typeof i.id, 'string');
  assert.ok(i.id.length > 0);
  assert.equal(i.service, service);
  assert.equal(typeof i.url, 'string');
  assert.equal(typeof i.startedAt, 'number');
  assert.ok(['starting', 'ready', 'draining', 'stopped', 'failed'].includes(i.state), `state ${i.state}`);
}

/** Registers the contract tests for one provider implementation. */
export function providerContract(
  name: string,
  make: () => Promise<ContractSubject>,
  options: ContractOptions = {},
): void {
  const timeout = options.eventTimeoutMs ?? 15_000;

  async function withSubject(fn: (p: Provider) => Promise<void>): Promise<void> {
    const subject = await make();
    try {
      await fn(subject.provider);
    } finally {
      await subject.cleanup();
    }
  }

  /** A ready instance: an existing one for advisory providers, a launched one otherwise. */
  async function readyInstance(p: Provider): Promise<Instance> {
    if (p.advisory) {
      const first = p.list()[0];
      assert.ok(first, 'an advisory provider under contract test needs at least one target');
      return first;
    }
    const ready = nextEvent(p, 'ready', () => true, timeout);
    const launched = await p.launch();
    const [instance] = await ready;
    assert.equal(instance.id, launched.id);
    return instance;
  }

  describe(`Provider contract: ${name}`, () => {
    it('list() returns only live instances of its own service', () =>
      withSubject(async (p) => {
        for (const i of p.list()) {
          assertInstanceShape(i, p.service);
          assert.ok(LIVE.has(i.state));
        }
      }));

    it('launch() resolves an instance of the service; only a non-advisory provider lists it', () =>
      withSubject(async (p) => {
        const before = p.list().map((i) => i.id);
        const ready = p.advisory ? undefined : nextEvent(p, 'ready', () => true, timeout);
        const launched = await p.launch();
        assertInstanceShape(launched, p.service);
        const after = p.list().map((i) => i.id);
        if (p.advisory) {
          assert.deepEqual(after, before);
        } else {
          assert.equal(launched.state, 'starting');
          assert.deepEqual(after.sort(), [...before, launched.id].sort());
          const [instance] = await ready!;
          assert.equal(instance.id, launched.id);
          assert.equal(instance.state, 'ready');
          assert.equal(p.list().find((i) => i.id === launched.id)?.state, 'ready');
        }
      }));

    it('drain(id) moves a ready instance to draining (advisory: unchanged)', () =>
      withSubject(async (p) => {
        const instance = await readyInstance(p);
        await p.drain(instance.id);
        const now = p.list().find((i) => i.id === instance.id);
        assert.equal(now?.state, p.advisory ? 'ready' : 'draining');
      }));

    it('stop(id) removes the instance and emits an expected exit (advisory: unchanged)', () =>
      withSubject(async (p) => {
        const instance = await readyInstance(p);
        const exited = p.advisory ? undefined : nextEvent(p, 'exited', (i) => i.id === instance.id, timeout);
        await p.stop(instance.id);
        if (p.advisory) {
          assert.ok(p.list().some((i) => i.id === instance.id));
        } else {
          assert.ok(!p.list().some((i) => i.id === instance.id));
          const [gone, exit] = await exited!;
          assert.equal(gone.state, 'stopped');
          assert.equal(exit.expected, true);
        }
      }));

    it('stop() and drain() of an unknown id reject with LS_ERR_PROVIDER_COMMAND', () =>
      withSubject(async (p) => {
        await assert.rejects(p.stop('inst_doesnotexist'), (err) =>
          isLuascaleError(err, 'LS_ERR_PROVIDER_COMMAND'),
        );
        await assert.rejects(p.drain('inst_doesnotexist'), (err) =>
          isLuascaleError(err, 'LS_ERR_PROVIDER_COMMAND'),
        );
      }));

    it('on() returns an unsubscribe function that stops delivery', () =>
      withSubject(async (p) => {
        let calls = 0;
        const off = p.on('ready', () => calls++);
        assert.equal(typeof off, 'function');
        off();
        if (!p.advisory) {
          const ready = nextEvent(p, 'ready', () => true, timeout);
          await p.launch();
          await ready;
        }
        assert.equal(calls, 0);
      }));

    it('usage(), when offered, reports finite non-negative figures for live instances only', () =>
      withSubject(async (p) => {
        if (!p.usage) return;
        const instance = await readyInstance(p);
        await p.refreshUsage?.(1_000); // a provider that samples in the background (Kubernetes)
        p.usage(1_000);
        const usage = p.usage(2_000);
        const live = new Set(p.list().map((i) => i.id));
        assert.ok(usage.has(instance.id) || p.advisory, 'a sample for the ready instance');
        for (const [id, u] of usage) {
          assert.ok(live.has(id), `usage for ${id}, which is not live`);
          for (const v of [u.cpu, u.rssBytes, ...(u.memory === undefined ? [] : [u.memory])])
            assert.ok(Number.isFinite(v) && v >= 0, `${id}: ${JSON.stringify(u)}`);
        }
      }));

    it('offers each optional capability as a method or not at all', () =>
      withSubject(async (p) => {
        for (const cap of PROVIDER_CAPABILITIES) {
          assert.ok(p[cap] === undefined || typeof p[cap] === 'function', `${cap}: ${typeof p[cap]}`);
        }
      }));

    it('pendingReplacements(), when offered, is a count: 0 before any crash', () =>
      withSubject(async (p) => {
        if (!p.pendingReplacements) return;
        assert.equal(p.pendingReplacements(), 0);
        if (!p.advisory) await readyInstance(p);
        const n = p.pendingReplacements();
        assert.equal(n, 0, `after a launch: ${n}`);
      }));

    it('adopt(), when offered, reports what it took over; those are listed, and a second call adopts nothing new', () =>
      withSubject(async (p) => {
        if (!p.adopt) return;
        const report = await p.adopt();
        for (const key of ['adopted', 'stopped', 'forgotten'] as const)
          assert.ok(Array.isArray(report[key]), `report.${key}`);
        const live = new Map(p.list().map((i) => [i.id, i]));
        for (const i of report.adopted) {
          assertInstanceShape(i, p.service);
          assert.ok(live.has(i.id), `adopted ${i.id} is not listed`);
        }
        const again = await p.adopt();
        assert.deepEqual(
          again.adopted.filter((i) => !report.adopted.some((a) => a.id === i.id)),
          [],
        );
      }));

    it('names its kind and service', () =>
      withSubject(async (p) => {
        assert.equal(typeof p.kind, 'string');
        assert.ok(p.kind.length > 0);
        assert.equal(typeof p.service, 'string');
        assert.equal(typeof p.advisory, 'boolean');
      }));

    it('close() is idempotent and launch() afterwards rejects', () =>
      withSubject(async (p) => {
        await p.close();
        await p.close();
        await assert.rejects(p.launch(), (err) => isLuascaleError(err));
      }));
  });
}
