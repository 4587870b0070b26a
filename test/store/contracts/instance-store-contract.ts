/** The InstanceStore contract: instance records for restart adoption. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { InstanceStore, StoredInstance } from '../../../src/store/instance-store.js';
import type { Awaitable } from '../../../src/store/store.js';

/** A store under test and how to reopen and close it. */
export interface InstanceStoreHandle {
  instances: InstanceStore;
  reopen(): Promise<InstanceStoreHandle>;
  close(): Awaitable<void>;
}

function rec(
  id: string,
  service: string,
  startedAt: number,
  extra: Partial<StoredInstance> = {},
): StoredInstance {
  return {
    id,
    service,
    pid: 4000 + startedAt,
    pgid: 4000 + startedAt,
    port: 30_000 + startedAt,
    url: `http://127.0.0.1:${30_000 + startedAt}`,
    command: ['node', 'app.js', '--port', String(30_000 + startedAt)],
    state: 'starting',
    startedAt,
    ...extra,
  };
}

/** Registers the contract tests for one implementation. */
export function instanceStoreContract(name: string, open: () => Promise<InstanceStoreHandle>): void {
  describe(`InstanceStore contract: ${name}`, () => {
    it('upsert inserts then replaces, list filters by service oldest first, remove deletes', async () => {
      const h = await open();
      try {
        await h.instances.upsert(rec('i2', 'api', 20));
        await h.instances.upsert(rec('i1', 'api', 10));
        await h.instances.upsert(rec('w1', 'web', 5));
        await h.instances.upsert(rec('i2', 'api', 20, { state: 'ready', readyAt: 25, meta: { zone: 'a' } }));
        const api = await h.instances.list('api');
        assert.deepEqual(
          api.map((r) => r.id),
          ['i1', 'i2'],
        );
        assert.deepEqual(api[1], rec('i2', 'api', 20, { state: 'ready', readyAt: 25, meta: { zone: 'a' } }));
        assert.deepEqual(
          (await h.instances.list()).map((r) => r.id),
          ['w1', 'i1', 'i2'],
        );
        await h.instances.remove('i1');
        await h.instances.remove('missing');
        assert.deepEqual(
          (await h.instances.list('api')).map((r) => r.id),
          ['i2'],
        );
        assert.deepEqual(await h.instances.list('none'), []);
      } finally {
        await h.close();
      }
    });

    it('records survive a reopen exactly as written', async () => {
      const h = await open();
      const r = rec('i9', 'api', 90, {
        state: 'ready',
        readyAt: 95,
        logFile: '/var/log/x.log',
        meta: { n: [1, 2] },
      });
      await h.instances.upsert(r);
      await h.instances.upsert(rec('gone', 'api', 91));
      await h.instances.remove('gone');
      await h.close();
      const h2 = await h.reopen();
      try {
        assert.deepEqual(await h2.instances.list('api'), [r]);
      } finally {
        await h2.close();
      }
    });
  });
}
