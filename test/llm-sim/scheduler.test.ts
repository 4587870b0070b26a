import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Scheduler, type SimJob } from '../../src/llm-sim/scheduler.js';
import { KvCache } from '../../src/llm-sim/kv-cache.js';
import type { TimingParams } from '../../src/llm-sim/timing-model.js';
import { ManualClock } from './manual-clock.js';

const timing: TimingParams = {
  prefillOverheadMs: 30,
  prefillPerTokenMs: 0.5,
  ttftMs: 0,
  ttftStdDevMs: 0,
  itlMs: 10,
  itlStdDevMs: 0,
  timeFactorUnderLoad: 1,
  maxNumSeqs: 2,
};

function setup(
  overrides: {
    timing?: Partial<TimingParams>;
    maxWaiting?: number;
    kvBlocks?: number;
    timeScale?: number;
  } = {},
) {
  const clock = new ManualClock();
  const kv = new KvCache({ totalBlocks: overrides.kvBlocks ?? 1000, blockSize: 16 });
  const scheduler = new Scheduler({
    timing: { ...timing, ...overrides.timing },
    maxWaiting: overrides.maxWaiting ?? 10,
    kv,
    clock,
    ...(overrides.timeScale ? { timeScale: overrides.timeScale } : {}),
  });
  return { clock, kv, scheduler };
}

/** Submits a job and records when each token came out. */
function track(scheduler: Scheduler, clock: ManualClock, job: SimJob) {
  const times: number[] = [];
  const record = { times, done: -1, started: -1 };
  const handle = scheduler.submit(job, {
    onStart: () => (record.started = clock.now()),
    onToken: () => times.push(clock.now()),
    onDone: () => (record.done = clock.now()),
  });
  return {
    ...record,
    times,
    handle,
    get done() {
      return record.done;
    },
    get started() {
      return record.started;
    },
  };
}

const prompt = (n: number, from = 0) => Array.from({ length: n }, (_, i) => from + i);

test('the first token comes after the prefill, each next one after the inter-token latency', () => {
  const { clock, scheduler } = setup();
  const job = track(scheduler, clock, { promptTokens: prompt(100), outputTokens: 4 });
  clock.advance(1000);
  assert.deepEqual(job.times, [80, 90, 100, 110]); // 30 + 100 × 0.5, then 3 × 10
  assert.equal(job.done, 110);
  assert.equal(scheduler.running, 0);
});

test('--time-scale multiplies every delay', () => {
  const { clock, scheduler } = setup({ timeScale: 0.01 });
  const job = track(scheduler, clock, { promptTokens: prompt(100), outputTokens: 3 });
  clock.advance(10);
  assert.deepEqual(
    job.times.map((t) => Math.round(t * 1000) / 1000),
    [0.8, 0.9, 1],
  );
});

test('at most max-num-seqs run; the next waits and starts when a seat frees', () => {
  const { clock, scheduler } = setup();
  const a = track(scheduler, clock, { promptTokens: prompt(20), outputTokens: 2 });
  track(scheduler, clock, { promptTokens: prompt(20, 500), outputTokens: 50 });
  const c = track(scheduler, clock, { promptTokens: prompt(20, 900), outputTokens: 1 });
  assert.equal(scheduler.running, 2);
  assert.equal(scheduler.waiting, 1);
  assert.equal(c.started, -1);
  clock.advance(1000);
  assert.equal(c.started, a.done); // a's seat went to c
  assert.equal(c.times[0], a.done + 40);
});

test('the queue is bounded: submit refuses beyond max-waiting', () => {
  const { scheduler } = setup({ maxWaiting: 1 });
  const job = { promptTokens: prompt(10), outputTokens: 5 };
  const events = { onToken() {}, onDone() {} };
  assert.ok(scheduler.submit(job, events));
  assert.ok(scheduler.submit(job, events));
  assert.ok(scheduler.submit(job, events)); // waits
  assert.equal(scheduler.submit(job, events), undefined);
  assert.equal(scheduler.waiting, 1);
});

test('a repeated prompt prefix skips its prefill: the second TTFT is shorter by the cached tokens', () => {
  const { clock, scheduler } = setup();
  const first = track(scheduler, clock, { promptTokens: prompt(320), outputTokens: 1 });
  clock.advance(1000);
  const second = track(scheduler, clock, { promptTokens: [...prompt(320), 1, 2], outputTokens: 1 });
  assert.equal(second.handle!.cachedTokens, 320);
  clock.advance(1000);
  assert.equal(first.times[0], 30 + 320 * 0.5);
  assert.equal(second.times[0]! - 1000, 30 + 2 * 0.5);
});

test('the load factor slows sequences as more run', () => {
  const { clock, scheduler } = setup({ timing: { timeFactorUnderLoad: 2 } });
  const a = track(scheduler, clock, { promptTokens: prompt(100), outputTokens: 1 });
  const b = track(scheduler, clock, { promptTokens: prompt(100, 1000), outputTokens: 1 });
  clock.advance(1000);
  assert.equal(a.times[0], 80); // alone when scheduled
  assert.equal(b.times[0], 160); // two running: factor 2
});

test('a sequence waits for KV blocks even with a free seat', () => {
  const { clock, scheduler } = setup({ kvBlocks: 4 });
  const a = track(scheduler, clock, { promptTokens: prompt(40), outputTokens: 8 }); // 3 blocks
  const b = track(scheduler, clock, { promptTokens: prompt(20, 500), outputTokens: 8 }); // 2 blocks
  assert.equal(scheduler.running, 1);
  assert.equal(scheduler.waiting, 1);
  clock.advance(1000);
  assert.equal(b.started, a.done);
});

test('abort frees the seat and the blocks, and no further token comes', () => {
  const { clock, kv, scheduler } = setup();
  const a = track(scheduler, clock, { promptTokens: prompt(20), outputTokens: 100 });
  clock.advance(60);
  const seen = a.times.length;
  a.handle!.abort();
  clock.advance(1000);
  assert.equal(a.times.length, seen);
  assert.equal(scheduler.running, 0);
  assert.equal(kv.snapshot().usedBlocks, 0);
  assert.equal(clock.pending, 0);
});

test('an injected stall delays the given token; forever never sends it', () => {
  const { clock, scheduler } = setup();
  const a = track(scheduler, clock, {
    promptTokens: prompt(100),
    outputTokens: 3,
    stall: { beforeToken: 1, ms: 500 },
  });
  const b = track(scheduler, clock, {
    promptTokens: prompt(100, 1000),
    outputTokens: 3,
    stall: { beforeToken: 0, ms: Infinity },
  });
  clock.advance(10_000);
  assert.deepEqual(a.times, [80, 590, 600]);
  assert.deepEqual(b.times, []);
  assert.equal(scheduler.running, 1);
  b.handle!.abort();
  assert.equal(scheduler.running, 0);
});

test('a timer that fires late does not push back the tokens after it (deadlines are absolute)', () => {
  // Every timer fires 0.5 ms late, as real timers do under load; the next is armed from its due time.
  class LateClock extends ManualClock {
    override setTimer(fn: () => void, ms: number): unknown {
      return super.setTimer(fn, ms + 0.5);
    }
  }
  const clock = new LateClock();
  const scheduler = new Scheduler({
    timing,
    maxWaiting: 10,
    kv: new KvCache({ totalBlocks: 100, blockSize: 16 }),
    clock,
  });
  const job = track(scheduler, clock, { promptTokens: prompt(100), outputTokens: 4 });
  clock.advance(1000);
  assert.deepEqual(job.times, [80.5, 90.5, 100.5, 110.5]); // not 80.5, 91, 101.5, 112
});
