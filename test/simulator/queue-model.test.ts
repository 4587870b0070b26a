import { test } from 'node:test';
import assert from 'node:assert/strict';
import { erlangC, waitProfile, waitQuantile } from '../../src/metrics/erlang-c.js';
import { queueModel } from '../../src/simulator/queue-model.js';
import { seededRandom } from '../../src/simulator/random.js';

const close = (a: number, b: number, eps = 1e-9) => assert.ok(Math.abs(a - b) <= eps, `${a} ≉ ${b}`);

test('erlangC matches closed forms: M/M/1 waits with probability ρ, C(2, 1) = 1/3', () => {
  close(erlangC(1, 0.3), 0.3);
  close(erlangC(1, 0.9), 0.9);
  close(erlangC(2, 1), 1 / 3);
  assert.equal(erlangC(3, 0), 0);
  assert.equal(erlangC(3, 3), 1);
  // more servers at the same utilisation wait less (economy of scale)
  assert.ok(erlangC(50, 40) < erlangC(5, 4));
});

test('waitQuantile is 0 when fewer than 1 − p wait, else the exponential tail with the Allen–Cunneen factor', () => {
  const prof = waitProfile(1, 10, 5); // M/D/1 at ρ = 0.5: P(wait) = 0.5, tail rate (10 − 5) / 0.5 = 10/s
  close(prof.pWait, 0.5);
  close(prof.tailRate, 10);
  assert.equal(waitQuantile(prof, 0.5), 0);
  close(waitQuantile(prof, 0.95), Math.log(0.5 / 0.05) / 10);
});

test('below capacity: no backlog, no drops, CPU = utilisation, p50 = service time, p95 from M/D/c', () => {
  const qm = queueModel({ capacity: 100, serviceMs: 50, queueTimeoutS: 10 });
  const s = qm.step(50, 1); // one instance = 5 servers of 20/s
  assert.equal(s.served, 50);
  assert.equal(s.dropped, 0);
  close(s.cpu, 50);
  close(s.utilization, 0.5);
  close(s.inflight, 2.5); // Little: 50/s × 50 ms
  assert.equal(s.p50, 50);
  const expected = 50 + waitQuantile(waitProfile(5, 20, 50), 0.95) * 1000;
  close(s.p95, expected, 1e-3);
  assert.ok(s.p95 > 50 && s.p99 > s.p95);
  assert.equal(qm.steady(50, 1), true);
  assert.equal(qm.steadyP95(50, 1), s.p95);
});

test('more instances at the same load lower p95; steadyP95 is Infinity beyond capacity', () => {
  const qm = queueModel({ capacity: 100, serviceMs: 50, queueTimeoutS: 10 });
  assert.ok(qm.steadyP95(180, 2) > qm.steadyP95(180, 3));
  assert.equal(qm.steadyP95(350, 3), Infinity);
  assert.equal(qm.steadyP95(0, 0), 0);
});

test('overload: the backlog grows at a − K, waits grow, and overflow beyond K·τ drops τ seconds later', () => {
  const qm = queueModel({ capacity: 100, serviceMs: 50, queueTimeoutS: 10 });
  const dropsAt: number[] = [];
  const p95: number[] = [];
  for (let t = 0; t < 40; t++) {
    const s = qm.step(150, 1);
    assert.equal(s.served, 100);
    assert.equal(s.cpu, 100);
    if (s.dropped > 0) dropsAt.push(t);
    p95.push(s.p95);
    // the fluid backlog plus the M/D/c mean queue at ρmax (< 60 for 5 servers)
    if (t < 20)
      assert.ok(s.queue >= 50 * (t + 1) && s.queue <= 50 * (t + 1) + 60, `queue ${s.queue} at ${t}`);
  }
  // cap 100/s × 10 s = 1000 reached after 20 s; the first overflow (second 20) is answered at 30
  assert.equal(dropsAt[0], 30);
  assert.ok(dropsAt.every((t, i) => t === 30 + i));
  // waits grow with the backlog, then sit at the timeout
  assert.ok(p95[10]! > p95[5]! && p95[5]! > p95[1]!);
  close(p95[25]!, 50 + 10_000, 1e-6);
  assert.equal(qm.steady(150, 1), false);
  assert.ok(qm.pending().dropsToObserve > 0);
});

test('a backlog drains at K − a once capacity arrives, with waits falling back to the service time', () => {
  const qm = queueModel({ capacity: 100, serviceMs: 50, queueTimeoutS: 30 });
  for (let t = 0; t < 5; t++) qm.step(200, 1); // backlog 500
  const first = { ...qm.step(100, 3) }; // K = 300: drains 200/s (samples are reused: copy)
  close(first.served, 300);
  const second = { ...qm.step(100, 3) };
  close(second.served, 300);
  const third = { ...qm.step(100, 3) }; // 100 left at the start: gone within the second
  close(third.served, 200);
  assert.ok(first.p95 > second.p95 && second.p95 > third.p95);
  const calm = qm.step(100, 3);
  assert.equal(calm.queue < 1, true);
  assert.equal(qm.steady(100, 3), true);
});

test('with no ready instance requests wait, and those older than the timeout are dropped', () => {
  const qm = queueModel({ capacity: 100, serviceMs: 50, queueTimeoutS: 5 });
  const dropped: number[] = [];
  for (let t = 0; t < 10; t++) dropped.push(qm.step(10, 0).dropped);
  // a second's cohort is dropped once even its newest request has waited 5 s: at t = s + 6
  assert.deepEqual(dropped, [0, 0, 0, 0, 0, 0, 10, 10, 10, 10]);
  // capacity arrives: the waiting requests are served
  const s = qm.step(10, 1);
  assert.ok(s.served > 10);
  assert.equal(s.cpu, (100 * s.served) / 100);
});

test('a capacity drop drops the newest waiters that can no longer make the timeout, at once', () => {
  const qm = queueModel({ capacity: 100, serviceMs: 50, queueTimeoutS: 2 });
  for (let t = 0; t < 3; t++) qm.step(500, 4); // backlog 300 on K = 400
  const s = qm.step(0, 1); // K = 100: cap 200
  assert.ok(s.dropped >= 100 - 1e-9, `dropped ${s.dropped}`);
});

test('steady() holds exactly when nothing waits and no drop is pending, for any queue timeout', () => {
  // pending() is the reference: drops not yet answered sum to > 0 iff one is booked.
  const random = seededRandom(7);
  for (const queueTimeoutS of [0, 0.4, 1, 2.5, 5]) {
    const qm = queueModel({ capacity: 100, serviceMs: 50, queueTimeoutS });
    for (let t = 0; t < 3000; t++) {
      const ready = Math.floor(random() * 4);
      const a = random() < 0.3 ? 0 : random() * 450;
      const p = qm.pending();
      const expected = p.waiting === 0 && p.dropsToObserve === 0 && ready > 0 && a <= ready * 100;
      assert.equal(qm.steady(a, ready), expected, `τ=${queueTimeoutS} t=${t}`);
      qm.step(a, ready);
    }
  }
});

test('steadyP95Exceeds(a, n, limit) is steadyP95(a, n) > limit, bound or no bound', () => {
  const random = seededRandom(11);
  for (const [serviceMs, queueTimeoutS] of [
    [50, 30],
    [5, 0.1],
    [200, 2],
  ] as const) {
    const qm = queueModel({ capacity: 100, serviceMs, queueTimeoutS });
    const exact = queueModel({ capacity: 100, serviceMs, queueTimeoutS });
    for (let i = 0; i < 20_000; i++) {
      const n = 1 + Math.floor(random() * 30);
      const a = random() < 0.05 ? 0 : random() * n * 100 * 1.05;
      const p95 = exact.steadyP95(a, n);
      // limits around the exact value as well as far from it
      const limit = random() < 0.5 ? p95 * (1 + (random() - 0.5) * 1e-12) : serviceMs + random() * 500;
      assert.equal(qm.steadyP95Exceeds(a, n, limit), p95 > limit, `a=${a} n=${n} limit=${limit}`);
    }
  }
});
