import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../../src/core/clock.js';
import {
  createAdmission,
  type AdmitResult,
  type TrafficOptions,
} from '../../../src/gateway/admission/admission.js';
import { ManualScheduler } from '../../../src/gateway/admission/scheduler.js';
import type { RateLimiter } from '../../../src/gateway/admission/rate-limiter.js';

function setup(options: TrafficOptions, ready = 1) {
  const clock = new ManualClock(1_000_000);
  const scheduler = new ManualScheduler();
  const queueEvents: [number, number | undefined][] = [];
  const a = createAdmission(options, clock, {
    scheduler,
    random: () => 0,
    onQueue: (d, w) => queueEvents.push([d, w]),
  });
  a.setReadyInstances(ready);
  const admit = (extra: { key?: string; deadlineMs?: number } = {}) =>
    a.admit({ key: extra.key ?? 'k', route: '/r', now: clock.now(), deadlineMs: extra.deadlineMs });
  /** Moves time and fires due timers, as the event loop would. */
  const advance = (ms: number) => {
    clock.advance(ms);
    scheduler.runDue(clock.now());
  };
  return { clock, scheduler, a, admit, advance, queueEvents };
}

/** Settles a promise into a probe whose value can be checked synchronously after a microtask turn. */
function probe(p: AdmitResult | Promise<AdmitResult>): { value?: AdmitResult } {
  const box: { value?: AdmitResult } = {};
  void Promise.resolve(p).then((v) => (box.value = v));
  return box;
}
const flush = () => new Promise<void>((r) => setImmediate(r));

function granted(r: AdmitResult | undefined): Extract<AdmitResult, { ok: true }> {
  assert.ok(r, 'not settled');
  assert.equal(r.ok, true, `expected a permit, got ${JSON.stringify(r)}`);
  return r as Extract<AdmitResult, { ok: true }>;
}
function denied(r: AdmitResult | undefined): Extract<AdmitResult, { ok: false }> {
  assert.ok(r, 'not settled');
  assert.equal(r.ok, false, 'expected a denial');
  return r as Extract<AdmitResult, { ok: false }>;
}

test('requests under per_instance × ready pass at once with queuedMs 0', async () => {
  const { a, admit } = setup({ concurrency: { per_instance: 2 } }, 2);
  const rs = await Promise.all([admit(), admit(), admit(), admit()]);
  for (const r of rs) assert.equal(granted(r).queuedMs, 0);
  assert.deepEqual(a.stats(), { queue: 0, inflight: 4, limit: 4, ready: 2, headroom: 0 });
});

test('a saturated service queues the next request and lets it in when a permit is released', async () => {
  const { a, admit, clock, queueEvents } = setup({ concurrency: { per_instance: 1 } });
  const first = granted(await admit());
  const second = probe(admit());
  await flush();
  assert.equal(second.value, undefined);
  assert.equal(a.stats().queue, 1);
  clock.advance(250);
  first.permit.release({ ok: true, rttMs: 250 });
  await flush();
  assert.equal(granted(second.value).queuedMs, 250);
  assert.deepEqual(queueEvents, [
    [1, undefined],
    [0, 250],
  ]);
  assert.equal(a.stats().inflight, 1);
});

test('scale from zero: with no ready instance requests wait, then pass when one becomes ready', async () => {
  const { a, admit, clock } = setup(
    { concurrency: { per_instance: 10 }, queue: { max: 10, timeoutMs: 30_000 } },
    0,
  );
  const waiting = [probe(admit()), probe(admit())];
  await flush();
  assert.ok(waiting.every((w) => w.value === undefined));
  assert.equal(a.stats().limit, 0);
  clock.advance(4_000); // the instance took 4 s to start
  a.setReadyInstances(1);
  await flush();
  for (const w of waiting) assert.equal(granted(w.value).queuedMs, 4_000);
});

test('a waiter still queued at the timeout gets 503 queue_timeout with Retry-After, woken by the timer', async () => {
  const { a, admit, advance, scheduler } = setup({ queue: { max: 10, timeoutMs: 1_000 } }, 0);
  const w = probe(admit());
  await flush();
  assert.equal(scheduler.pending, 1);
  advance(999);
  await flush();
  assert.equal(w.value, undefined);
  advance(1);
  await flush();
  const d = denied(w.value);
  assert.equal(d.status, 503);
  assert.equal(d.reason, 'queue_timeout');
  assert.equal(d.code, 'LS_ERR_GATEWAY_QUEUE_TIMEOUT');
  assert.ok(Number(d.headers['retry-after']) >= 1);
  assert.equal(a.stats().queue, 0);
  assert.equal(scheduler.pending, 0);
});

test('a full queue sheds with 503 queue_full; a zero-length queue never queues', async () => {
  const { admit } = setup({ queue: { max: 1, timeoutMs: 1_000 } }, 0);
  void admit();
  const d = denied(await admit());
  assert.equal(d.reason, 'queue_full');
  assert.equal(d.code, 'LS_ERR_GATEWAY_QUEUE_FULL');
  assert.equal(d.status, 503);
  const z = setup({ queue: { max: 0, timeoutMs: 1_000 }, concurrency: { per_instance: 1 } });
  granted(await z.admit());
  assert.equal(denied(await z.admit()).reason, 'queue_full');
});

test('over the rate limit: 429 with Retry-After and RateLimit-* headers; allowed ones carry RateLimit-*', async () => {
  const { admit, clock } = setup({ rate_limit: { rps: 1, burst: 2, key: 'ip' } });
  const ok = granted(await admit({ key: '10.0.0.1' }));
  assert.equal(ok.headers?.['ratelimit-remaining'], '1');
  granted(await admit({ key: '10.0.0.1' }));
  const d = denied(await admit({ key: '10.0.0.1' }));
  assert.equal(d.status, 429);
  assert.equal(d.reason, 'rate_limit');
  assert.equal(d.code, 'LS_ERR_GATEWAY_RATE_LIMITED');
  assert.equal(d.retryAfterS, 1);
  assert.deepEqual(d.headers, {
    'ratelimit-limit': '2',
    'ratelimit-remaining': '0',
    'ratelimit-reset': '2',
    'retry-after': '1',
  });
  granted(await admit({ key: '10.0.0.2' })); // another client is unaffected
  clock.advance(1000);
  granted(await admit({ key: '10.0.0.1' }));
});

test('the sliding-window algorithm is selectable', async () => {
  const { admit } = setup({ rate_limit: { rps: 2, key: 'global', algorithm: 'sliding-window' } });
  granted(await admit());
  granted(await admit());
  assert.equal(denied(await admit()).status, 429);
});

test('at max replicas a saturated service still queues while the wait fits the deadline (#17 item 4)', async () => {
  const { a, admit } = setup({ concurrency: { per_instance: 1 }, atMaxReplicas: true });
  const first = granted(await admit());
  const queued = probe(admit());
  await flush();
  assert.equal(queued.value, undefined, 'queued, not shed');
  assert.equal(a.stats().queue, 1);
  first.permit.release({ ok: true, rttMs: 200 });
  await flush();
  granted(queued.value);
});

test('at max replicas a wait that misses the deadline is shed as at_capacity, naming the wait', async () => {
  const { a, admit, clock } = setup({ concurrency: { per_instance: 1 }, atMaxReplicas: true });
  const p = granted(await admit());
  clock.advance(1000);
  p.permit.release({ ok: true, rttMs: 1000 }); // mean service time 1 s, one slot
  granted(await admit()); // holds the slot
  const d = denied(await admit({ deadlineMs: clock.now() + 500 }));
  assert.equal(d.reason, 'at_capacity');
  assert.equal(d.code, 'LS_ERR_GATEWAY_AT_CAPACITY');
  assert.deepEqual(d.params, { waitMs: 1000, leftMs: 500 });
  a.setAtMaxReplicas(false);
  const d2 = denied(await admit({ deadlineMs: clock.now() + 500 }));
  assert.equal(d2.code, 'LS_ERR_GATEWAY_DEADLINE_UNMET', 'below max the same wait is deadline_unmet');
});

test('instances starting count in the expected wait: a deadline they meet queues instead of shedding (#17 item 4)', async () => {
  const { a, admit, clock } = setup({ concurrency: { per_instance: 1 }, atMaxReplicas: true });
  const p = granted(await admit());
  clock.advance(1000);
  p.permit.release({ ok: true, rttMs: 1000 }); // mean service time 1 s, one slot
  granted(await admit()); // holds the slot
  // finishing alone: 1000 ms > 800 ms left; with two more instances ready in 500 ms: ~667 ms
  a.setDesiredReplicas(3, 500);
  const waits = probe(admit({ deadlineMs: clock.now() + 800 }));
  await flush();
  assert.equal(waits.value, undefined, 'queued while capacity is coming');
  assert.equal(a.stats().queue, 1);
  a.setReadyInstances(3); // they are ready: the waiter is let in
  await flush();
  granted(waits.value);
  a.setReadyInstances(1);
  a.setDesiredReplicas(1);
  const d = denied(await admit({ deadlineMs: clock.now() + 800 }));
  assert.equal(d.code, 'LS_ERR_GATEWAY_AT_CAPACITY', 'nothing coming: shed, naming the wait');
});

test('a waiter whose deadline cannot be met is shed at once (expected wait from RTT / limit)', async () => {
  const { admit, clock } = setup({ concurrency: { per_instance: 1 }, queue: { max: 10, timeoutMs: 30_000 } });
  const p = granted(await admit());
  clock.advance(1000);
  p.permit.release({ ok: true, rttMs: 1000 }); // mean service time 1 s, one slot
  granted(await admit()); // holds the slot
  const d = denied(await admit({ deadlineMs: clock.now() + 500 }));
  assert.equal(d.reason, 'queue_timeout');
  assert.equal(d.code, 'LS_ERR_GATEWAY_DEADLINE_UNMET');
  const patient = probe(admit({ deadlineMs: clock.now() + 5_000 }));
  await flush();
  assert.equal(patient.value, undefined, 'a feasible deadline waits');
});

test('a request deadline earlier than the queue timeout wakes the timer earlier', async () => {
  const { admit, advance } = setup({ queue: { max: 10, timeoutMs: 30_000 } }, 0);
  const slow = probe(admit());
  const hurried = probe(admit({ deadlineMs: 1_000_000 + 200 }));
  advance(200);
  await flush();
  assert.equal(denied(hurried.value).reason, 'queue_timeout');
  assert.equal(slow.value, undefined);
});

test('waiters are let in first-in first-out and a newcomer never overtakes them', async () => {
  const { a, admit } = setup({ concurrency: { per_instance: 1 } });
  let holder = granted(await admit());
  const ws = [probe(admit()), probe(admit()), probe(admit())];
  await flush();
  holder.permit.release({ ok: true, rttMs: 1 });
  await flush();
  assert.deepEqual(
    ws.map((w) => w.value !== undefined),
    [true, false, false],
  );
  // the slot is taken again through the queue: a new arrival waits behind the other two
  const late = probe(admit());
  await flush();
  assert.equal(late.value, undefined);
  for (const next of [1, 2]) {
    holder = granted(ws[next - 1]!.value);
    holder.permit.release({ ok: true, rttMs: 1 });
    await flush();
    granted(ws[next]!.value as AdmitResult | undefined);
    assert.equal(late.value, undefined);
  }
  granted(ws[2]!.value).permit.release({ ok: true, rttMs: 1 });
  await flush();
  granted(late.value as AdmitResult | undefined);
  assert.equal(a.stats().queue, 0);
});

test('releasing a permit twice counts once', async () => {
  const { a, admit } = setup({ concurrency: { per_instance: 5 } });
  const p = granted(await admit());
  p.permit.release({ ok: true, rttMs: 1 });
  p.permit.release({ ok: true, rttMs: 1 });
  assert.equal(a.stats().inflight, 0);
});

test('close turns every waiter and every later request away with 503', async () => {
  const { a, admit, scheduler } = setup({}, 0);
  const w = probe(admit());
  await flush();
  a.close();
  await flush();
  assert.equal(denied(w.value).code, 'LS_ERR_GATEWAY_SHUTTING_DOWN');
  assert.equal(denied(await admit()).status, 503);
  assert.equal(scheduler.pending, 0);
});

test('adaptive concurrency caps the static limit and is reported in stats', async () => {
  const { a, admit } = setup({ concurrency: { per_instance: 100, adaptive: true } });
  const s = a.stats();
  assert.equal(s.adaptiveLimit, 3); // pinned to min_concurrency while measuring minRTT
  assert.equal(s.limit, 3);
  assert.equal(s.adaptive?.state, 'measuring');
  for (let i = 0; i < 3; i++) granted(await admit());
  const queued = probe(admit());
  await flush();
  assert.equal(queued.value, undefined);
});

test('adaptive limit rises above min_concurrency once RTT samples come in', async () => {
  const { a, admit, clock } = setup({
    concurrency: { per_instance: 1000, adaptive: { minRttRequestCount: 5, updateIntervalMs: 100 } },
  });
  for (let round = 0; round < 30; round++) {
    const r = granted(await admit());
    clock.advance(20);
    r.permit.release({ ok: true, rttMs: 20 });
  }
  assert.ok(a.stats().limit > 3, `limit ${a.stats().limit}`);
  assert.equal(a.stats().adaptive?.state, 'adjusting');
});

test('no concurrency section: unlimited once an instance is ready', async () => {
  const { a, admit } = setup({});
  for (let i = 0; i < 50; i++) granted(await admit());
  assert.equal(a.stats().limit, Number.POSITIVE_INFINITY);
});

test('a limiter answering with a promise (cluster mode) is awaited', async () => {
  let calls = 0;
  const limiter: RateLimiter = {
    take: async () => {
      calls++;
      return calls > 1
        ? { ok: false, limit: 1, remaining: 0, resetS: 1, retryAfterS: 1 }
        : { ok: true, limit: 1, remaining: 0, resetS: 1, retryAfterS: 0 };
    },
  };
  const clock = new ManualClock(0);
  const a = createAdmission({}, clock, { limiter, scheduler: new ManualScheduler() });
  a.setReadyInstances(1);
  granted(await a.admit({ key: 'x', route: '/', now: 0 }));
  assert.equal(denied(await a.admit({ key: 'x', route: '/', now: 0 })).status, 429);
});

test('queue.timeout in config form is accepted; bad options throw', () => {
  const clock = new ManualClock(0);
  assert.doesNotThrow(() =>
    createAdmission({ queue: { timeout: '2s' } }, clock, { scheduler: new ManualScheduler() }),
  );
  assert.throws(() => createAdmission({ concurrency: { per_instance: 0 } }, clock), RangeError);
  assert.throws(() => createAdmission({ queue: { max: -1 } }, clock), RangeError);
  const a = createAdmission({}, clock, { scheduler: new ManualScheduler() });
  assert.throws(() => a.setReadyInstances(-1), RangeError);
});

test('a queued waiter whose client aborts leaves the queue at once', async () => {
  const { a, admit, clock } = setup({ concurrency: { per_instance: 1 } });
  granted(await admit());
  const ac = new AbortController();
  const w = probe(a.admit({ key: 'k', route: '/r', now: clock.now(), signal: ac.signal }));
  const behind = probe(admit());
  await flush();
  assert.equal(a.stats().queue, 2);
  ac.abort();
  await flush();
  assert.equal(denied(w.value).reason, 'queue_timeout');
  assert.equal(a.stats().queue, 1);
  assert.equal(behind.value, undefined);
});
