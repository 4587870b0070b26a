/**
 * The EventStore contract: every implementation (SQLite now, Redis in cluster mode) runs it.
 * `open()` returns a fresh, empty store; `reopen()` opens the same data again after `close()`.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Decision } from '../../../src/controller/decision.js';
import { completeObservation } from '../../../src/policy/policy.js';
import { decisionEvent, type EventStore } from '../../../src/store/event-store.js';
import type { Awaitable } from '../../../src/store/store.js';

/** A store under test and how to persist, reopen and close it. */
export interface EventStoreHandle {
  events: EventStore;
  flush(): Awaitable<void>;
  reopen(): Promise<EventStoreHandle>;
  close(): Awaitable<void>;
}

/** A complete Decision, as the decision core produces it. */
export function sampleDecision(service = 'api', at = 1_700_000_000_000): Decision {
  return {
    service,
    at,
    current: 2,
    replicas: 4,
    reason: 'ScaleUpLimited',
    message: 'policy wants 6, limited to 4 by 100% per 15s',
    mode: 'stable',
    inputs: completeObservation({
      replicas: 2,
      ready: 2,
      cpu: 91.5,
      rps: 420,
      latency: { p50: 3, p95: 18.5, p99: 40 },
    }),
    policy: {
      name: 'builtin:hpa',
      evaluated: true,
      outcome: {
        ok: true,
        replicas: 6,
        raw: { replicas: 6 },
        detail: { ratio: 1.83 },
        state: { n: 1 },
        logs: ['cpu high'],
        alerts: [],
      },
    },
    steps: [
      { stage: 'policy', from: 2, to: 6, reason: 'ScaleUp', note: 'hpa: ceil(2 * 91.5 / 50)' },
      { stage: 'rate-limit', from: 6, to: 4, reason: 'ScaleUpLimited', note: '100% per 15s' },
    ],
  };
}

/** Registers the contract tests for one implementation. */
export function eventStoreContract(name: string, open: () => Promise<EventStoreHandle>): void {
  describe(`EventStore contract: ${name}`, () => {
    it('append returns increasing ids and list returns the events in order with their data', async () => {
      const h = await open();
      try {
        const ids: number[] = [];
        for (let i = 0; i < 5; i++)
          ids.push(
            await h.events.append({ service: 'api', type: 'scale', at: 1000 + i, data: { i, tag: `n${i}` } }),
          );
        for (let i = 1; i < ids.length; i++)
          assert.ok(ids[i]! > ids[i - 1]!, `id ${ids[i]} after ${ids[i - 1]}`);
        const got = await h.events.list({ limit: 10 });
        assert.deepEqual(
          got.map((e) => e.id),
          ids,
        );
        assert.deepEqual(got[3], {
          id: ids[3],
          service: 'api',
          type: 'scale',
          at: 1003,
          data: { i: 3, tag: 'n3' },
        });
      } finally {
        await h.close();
      }
    });

    it('a decision event carries the whole Decision value', async () => {
      const h = await open();
      try {
        const d = sampleDecision();
        const id = await h.events.append(decisionEvent(d, d.at));
        await h.flush();
        const [e] = await h.events.list({ limit: 1, types: ['decision'] });
        assert.equal(e?.id, id);
        // JSON: fields that are undefined are left out, as in the admin API's responses
        assert.deepEqual(e?.data, JSON.parse(JSON.stringify(d)));
        assert.equal((e?.data as typeof d).steps.length, 2);
        assert.equal((e?.data as typeof d).policy.outcome.ok, true);
      } finally {
        await h.close();
      }
    });

    it('list filters by service, types and since', async () => {
      const h = await open();
      try {
        await h.events.append({ service: 'api', type: 'decision', at: 100, data: {} });
        await h.events.append({ service: 'web', type: 'scale', at: 200, data: {} });
        await h.events.append({ service: 'api', type: 'alert', at: 300, data: {} });
        await h.events.append({ service: 'api', type: 'scale', at: 400, data: {} });
        await h.flush();
        const api = await h.events.list({ service: 'api', limit: 10 });
        assert.deepEqual(
          api.map((e) => e.at),
          [100, 300, 400],
        );
        const types = await h.events.list({ types: ['scale', 'alert'], limit: 10 });
        assert.deepEqual(
          types.map((e) => e.at),
          [200, 300, 400],
        );
        const since = await h.events.list({ since: 300, limit: 10 });
        assert.deepEqual(
          since.map((e) => e.at),
          [300, 400],
        );
        assert.deepEqual(await h.events.list({ types: [], limit: 10 }), []);
      } finally {
        await h.close();
      }
    });

    it('paging with afterId visits every event exactly once, and desc with beforeId walks back', async () => {
      const h = await open();
      try {
        const ids: number[] = [];
        for (let i = 0; i < 23; i++)
          ids.push(await h.events.append({ service: i % 2 ? 'a' : 'b', type: 'instance', at: i, data: i }));
        await h.flush();
        const seen: number[] = [];
        let afterId: number | undefined;
        for (let page = 0; page < 10; page++) {
          const got = await h.events.list({ afterId, limit: 5 });
          if (got.length === 0) break;
          assert.ok(got.length <= 5);
          seen.push(...got.map((e) => e.id));
          afterId = got[got.length - 1]!.id;
        }
        assert.deepEqual(seen, ids);
        const latest = await h.events.list({ limit: 3, order: 'desc' });
        assert.deepEqual(
          latest.map((e) => e.id),
          ids.slice(-3).reverse(),
        );
        const before = await h.events.list({ limit: 3, order: 'desc', beforeId: latest[2]!.id });
        assert.deepEqual(
          before.map((e) => e.id),
          ids.slice(-6, -3).reverse(),
        );
      } finally {
        await h.close();
      }
    });

    it('the stored event does not change when the caller mutates its data afterwards', async () => {
      const h = await open();
      try {
        const data = { replicas: 3, list: [1] };
        await h.events.append({ service: 'api', type: 'scale', at: 1, data });
        data.replicas = 99;
        data.list.push(2);
        const [e] = await h.events.list({ limit: 1 });
        assert.deepEqual(e?.data, { replicas: 3, list: [1] });
      } finally {
        await h.close();
      }
    });

    it('events survive a reopen and new ids continue above the old ones', async () => {
      const h = await open();
      const first = await h.events.append({ service: 'api', type: 'policy', at: 1, data: { policy: 'x' } });
      const second = await h.events.append({ service: 'api', type: 'policy', at: 2, data: { policy: 'y' } });
      await h.close();
      const h2 = await h.reopen();
      try {
        const got = await h2.events.list({ limit: 10 });
        assert.deepEqual(
          got.map((e) => [e.id, e.data]),
          [
            [first, { policy: 'x' }],
            [second, { policy: 'y' }],
          ],
        );
        const third = await h2.events.append({ service: 'api', type: 'policy', at: 3, data: null });
        assert.ok(third > second);
      } finally {
        await h2.close();
      }
    });
  });
}
