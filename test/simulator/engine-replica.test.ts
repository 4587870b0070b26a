import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EngineReplica, type EngineProfile, type EngineRequest } from '../../src/simulator/engine-replica.js';
import { Scheduler } from '../../src/llm-sim/scheduler.js';
import { KvCache } from '../../src/llm-sim/kv-cache.js';
import { prefillMs } from '../../src/llm-sim/timing-model.js';
import { ManualClock } from '../llm-sim/manual-clock.js';

const profile: EngineProfile = {
  prefillOverheadMs: 30,
  prefillPerTokenMs: 0.2,
  ttftMs: 0,
  ttftStdDevMs: 0,
  itlMs: 12,
  itlStdDevMs: 0,
  timeFactorUnderLoad: 2,
  maxNumSeqs: 4,
  maxWaiting: 100,
  kvBlocks: 10_000,
  blockSize: 16,
  maxModelLen: 100_000,
};

interface Seen {
  first: Map<number, number>;
  done: Map<number, number>;
  dropped: number[];
}

function replica(p: Partial<EngineProfile> = {}, queueTimeoutMs = 60_000) {
  const seen: Seen = { first: new Map(), done: new Map(), dropped: [] };
  const r = new EngineReplica(
    { ...profile, ...p },
    {
      now: 0,
      queueTimeoutMs,
      sink: {
        firstToken: (req, t) => seen.first.set(req.id, t),
        done: (req, t) => seen.done.set(req.id, t),
        drop: (req) => seen.dropped.push(req.id),
      },
    },
  );
  return { r, seen };
}

const req = (id: number, at: number, contextTokens: number, generatedTokens: number): EngineRequest => ({
  id,
  at,
  contextTokens,
  generatedTokens,
});

test('one request on an idle replica: TTFT is llm-sim prefillMs, then (out − 1) × ITL', () => {
  const { r, seen } = replica();
  r.submit(req(0, 0, 1000, 11), 0);
  r.advance(10_000);
  const ttft = prefillMs({ promptTokens: 1000, cachedTokens: 0, running: 1 }, profile);
  assert.equal(ttft, 230);
  assert.equal(seen.first.get(0), 230);
  assert.ok(Math.abs(seen.done.get(0)! - (230 + 10 * 12)) < 1e-6);
  assert.equal(r.running, 0);
});

test('matches llm-sim’s scheduler (same timing code) on a manual clock within 2 %', () => {
  // Six requests on four seats: two queue, prefills and decodes overlap, the load factor moves.
  const jobs = [
    [0, 800, 20],
    [0, 200, 40],
    [5, 1500, 5],
    [10, 300, 30],
    [12, 100, 10],
    [300, 2000, 8],
  ] as const;
  const { r, seen } = replica();
  for (const [i, [at, ctx, out]] of jobs.entries()) r.submit(req(i, at, ctx, out), at);
  r.advance(60_000);

  const clock = new ManualClock();
  const kv = new KvCache({ totalBlocks: 10_000, blockSize: 16 });
  const sched = new Scheduler({ timing: profile, maxWaiting: 100, kv, clock });
  const first = new Map<number, number>();
  const done = new Map<number, number>();
  let now = 0;
  jobs.forEach(([at, ctx, out], i) => {
    clock.advance(at - now);
    now = at;
    // Distinct prompts, so no prefix is shared (the token trace has none).
    const promptTokens = Array.from({ length: ctx }, (_, k) => i * 1_000_000 + k);
    sched.submit(
      { promptTokens, outputTokens: out },
      {
        onToken: (k) => k === 0 && first.set(i, clock.now()),
        onDone: () => done.set(i, clock.now()),
      },
    );
  });
  clock.advance(60_000);
  for (let i = 0; i < jobs.length; i++) {
    const f = first.get(i)!;
    const d = done.get(i)!;
    assert.ok(Math.abs(seen.first.get(i)! - f) <= 0.02 * f, `request ${i} TTFT ${seen.first.get(i)} vs ${f}`);
    assert.ok(Math.abs(seen.done.get(i)! - d) <= 0.02 * d, `request ${i} done ${seen.done.get(i)} vs ${d}`);
  }
});

test('a request waits for a seat: FIFO behind the running ones', () => {
  const { r, seen } = replica({ maxNumSeqs: 1 });
  r.submit(req(0, 0, 100, 2), 0);
  r.submit(req(1, 0, 100, 2), 0);
  assert.equal(r.waiting, 1);
  r.advance(10_000);
  // 50 ms prefill + 12 ms, then the second's 50 ms prefill.
  assert.ok(Math.abs(seen.first.get(1)! - (62 + 50)) < 1e-6);
});

test('a request waits for KV blocks even with a free seat', () => {
  const { r, seen } = replica({ kvBlocks: 100 });
  r.submit(req(0, 0, 1000, 100), 0); // 69 blocks
  r.submit(req(1, 0, 1000, 100), 0); // 69 more do not fit
  assert.equal(r.running, 1);
  assert.equal(r.waiting, 1);
  r.advance(100_000);
  assert.ok(seen.first.get(1)! >= seen.done.get(0)!);
});

test('a waiting request older than the queue timeout is dropped', () => {
  const { r, seen } = replica({ maxNumSeqs: 1 }, 1000);
  r.submit(req(0, 0, 100, 500), 0); // runs 50 + 499 × 12 ms ≈ 6 s
  r.submit(req(1, 0, 100, 2), 0);
  r.advance(2000);
  assert.deepEqual(seen.dropped, [1]);
  assert.equal(r.waiting, 0);
});

test('a full queue refuses the request (the engine’s 429)', () => {
  const { r } = replica({ maxNumSeqs: 1, maxWaiting: 1 });
  assert.equal(r.submit(req(0, 0, 100, 50), 0), true);
  assert.equal(r.submit(req(1, 0, 100, 50), 0), true);
  assert.equal(r.submit(req(2, 0, 100, 50), 0), false);
});
