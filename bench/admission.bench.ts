/**
 * Hot-path cost of admission and signals, in ns per operation, with the alternatives side by side:
 * - `admit` + release through createAdmission (rate limit + concurrency, fast path, awaited);
 * - TokenBucket.take vs SlidingWindowLimiter.take;
 * - SlidingWindow.add, LatencyWindow.record vs the raw hdr-histogram-js recordValue (what the
 *   window adds), and vs prom-client Counter.inc + Histogram.observe (the per-request metrics
 *   this design avoids by collecting on scrape);
 * - a full request's signals (onStart + onEnd: ~20 window updates and 4 HDR records).
 */
import { Counter, Histogram as PromHistogram, Registry } from 'prom-client';
import { build } from 'hdr-histogram-js';
import type { Emit } from './run.js';
import { ManualClock } from '../src/core/clock.js';
import { createAdmission } from '../src/gateway/admission/admission.js';
import { ManualScheduler } from '../src/gateway/admission/scheduler.js';
import { TokenBucket } from '../src/gateway/admission/token-bucket.js';
import { SlidingWindowLimiter } from '../src/gateway/admission/sliding-window-limiter.js';
import { SlidingWindow } from '../src/metrics/sliding-window.js';
import { LatencyWindow } from '../src/metrics/latency-window.js';
import { createSignals } from '../src/gateway/signals/signals.js';
import { createEventLoopLag } from '../src/gateway/signals/event-loop-lag.js';

/** ns per call of `fn(i)` over `n` calls, best of 5 rounds after a warm-up. */
function nsPerOp(n: number, fn: (i: number) => void): number {
  for (let i = 0; i < n; i++) fn(i);
  let best = Number.POSITIVE_INFINITY;
  for (let round = 0; round < 5; round++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) fn(i);
    const ns = Number(process.hrtime.bigint() - t0) / n;
    if (ns < best) best = ns;
  }
  return Math.round(best * 10) / 10;
}

async function nsPerOpAsync(n: number, fn: (i: number) => Promise<void>): Promise<number> {
  for (let i = 0; i < n; i++) await fn(i);
  let best = Number.POSITIVE_INFINITY;
  for (let round = 0; round < 5; round++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) await fn(i);
    const ns = Number(process.hrtime.bigint() - t0) / n;
    if (ns < best) best = ns;
  }
  return Math.round(best * 10) / 10;
}

export default async function bench(emit: Emit): Promise<void> {
  const N = 200_000;
  const clock = new ManualClock(1_000_000);
  const keys = Array.from({ length: 1000 }, (_, i) => `10.0.${i >> 8}.${i & 255}`);

  // admission fast path: permissive rate limit, concurrency far from the limit
  const admission = createAdmission(
    { rate_limit: { rps: 1e9, burst: 1e9, key: 'ip' }, concurrency: { per_instance: 1000 } },
    clock,
    { scheduler: new ManualScheduler() },
  );
  admission.setReadyInstances(4);
  const bare = createAdmission({}, clock, { scheduler: new ManualScheduler() });
  bare.setReadyInstances(1);
  const admitNs = await nsPerOpAsync(N, async (i) => {
    const r = await admission.admit({ key: keys[i % 1000]!, route: '/r', now: clock.now() + i });
    if (r.ok) r.permit.release({ ok: true, rttMs: 1 });
  });
  const bareNs = await nsPerOpAsync(N, async (i) => {
    const r = await bare.admit({ key: 'k', route: '/r', now: clock.now() + i });
    if (r.ok) r.permit.release({ ok: true, rttMs: 1 });
  });
  const promiseNs = await nsPerOpAsync(N, async () => {
    await Promise.resolve({ ok: true });
  });
  emit({
    name: 'admission.admit_release',
    value: admitNs,
    unit: 'ns/op',
    no_rate_limit_ns: bareNs,
    bare_await_ns: promiseNs,
  });

  const tb = new TokenBucket({ rps: 1e6, burst: 1e6 });
  const sw = new SlidingWindowLimiter({ rps: 1e6, burst: 1e6 });
  const tbNs = nsPerOp(N, (i) => void tb.take(keys[i % 1000]!, 1_000_000 + i));
  const swNs = nsPerOp(N, (i) => void sw.take(keys[i % 1000]!, 1_000_000 + i));
  emit({
    name: 'admission.token_bucket_take',
    value: tbNs,
    unit: 'ns/op',
    sliding_window_ns: swNs,
    ratio: Math.round((swNs / tbNs) * 100) / 100,
  });

  const win = new SlidingWindow();
  const winNs = nsPerOp(N * 5, (i) => win.add(1_000_000 + i * 0.1));
  const lat = new LatencyWindow();
  const latNs = nsPerOp(N * 5, (i) => lat.record(1_000_000 + i * 0.1, (i % 997) * 0.37));
  const raw = build({
    bitBucketSize: 32,
    lowestDiscernibleValue: 1,
    highestTrackableValue: 600_000_000,
    numberOfSignificantValueDigits: 2,
    autoResize: false,
    useWebAssembly: false,
  });
  const rawNs = nsPerOp(N * 5, (i) => raw.recordValue(Math.round((i % 997) * 370) + 1));
  const reg = new Registry();
  const counter = new Counter({
    name: 'b_total',
    help: 'b',
    labelNames: ['service', 'route', 'code_class'],
    registers: [reg],
  });
  const hist = new PromHistogram({
    name: 'b_seconds',
    help: 'b',
    labelNames: ['service', 'route'],
    registers: [reg],
  });
  const promNs = nsPerOp(N, (i) => {
    counter.inc({ service: 'api', route: '/users/{id}', code_class: '2xx' });
    hist.observe({ service: 'api', route: '/users/{id}' }, (i % 997) * 0.00037);
  });
  emit({ name: 'metrics.sliding_window_add', value: winNs, unit: 'ns/op' });
  emit({
    name: 'metrics.latency_window_record',
    value: latNs,
    unit: 'ns/op',
    raw_hdr_record_ns: rawNs,
    prom_client_inc_observe_ns: promNs,
  });

  const signals = createSignals(clock, { eventLoop: createEventLoopLag({ read: () => 0, close() {} }) });
  const routes = ['/users/{id}', '/orders', '/health', '/items/{id}'];
  const sigNs = nsPerOp(N, (i) => {
    const route = routes[i & 3]!;
    signals.onStart(route, 'api');
    signals.onEnd({
      route,
      service: 'api',
      operationId: 'op',
      instance: `i${i & 7}`,
      status: 200,
      latencyMs: (i % 97) * 0.5,
      bytesIn: 0,
      bytesOut: 512,
    });
  });
  clock.advance(11_000);
  const snapNs = nsPerOp(200, () => void signals.snapshot('api', clock.now(), 10));
  emit({
    name: 'signals.request',
    value: sigNs,
    unit: 'ns/op',
    prom_client_per_request_ns: promNs,
    ratio_vs_prom_client: Math.round((sigNs / promNs) * 100) / 100,
    snapshot_us: Math.round(snapNs / 100) / 10,
  });
  signals.close();
}
