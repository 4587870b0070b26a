/**
 * µs per Lua policy evaluate(): the seed sample (script style) and a module-style policy through
 * our raw-C-API sandbox, against the same decision through wasmoon's default JS-object proxy for
 * ctx, measured side by side in this run. Also one SandboxWorker batch of 10,000 calls.
 * Goal (issue 2 §8): ≤ 3 µs median for a policy like the seed's.
 */
import { LuaFactory } from 'wasmoon';
import type { Emit } from './run.js';
import { loadLuaPolicy } from '../src/sandbox/lua-policy.js';
import { startSandboxWorker } from '../src/sandbox/sandbox-worker.js';
import {
  completeObservation,
  emptyHistory,
  type PolicyContext,
  type PolicyOutcome,
} from '../src/policy/policy.js';

const WARMUP = 20_000;
const SAMPLES = 100_000;

const MODULE_SOURCE = [
  'function decide(ctx)',
  '  local cpu = ctx.cpu',
  '  if cpu > 80 then return ctx.replicas + 1 elseif cpu < 20 then return ctx.replicas - 1 end',
  '  return ctx.replicas',
  'end',
].join('\n');

/** The service's params object, the same every tick (as the controller passes it). */
const PARAMS = {};

function context(cpu: number): PolicyContext {
  return {
    service: 'web',
    now: 1_700_000_000_000,
    min: 1,
    max: 10,
    observation: completeObservation({ cpu, replicas: 2 }),
    params: PARAMS,
    state: {},
    history: emptyHistory,
  };
}

/** Median and p99 of one call, in µs, timing every call (cpu cycles 10/50/85 so every branch runs). */
function measure(call: (ctx: PolicyContext) => unknown): { median: number; p99: number; cpu: number } {
  const ctxs = [context(10), context(50), context(85)];
  for (let i = 0; i < WARMUP; i++) call(ctxs[i % 3]!);
  const samples = new Float64Array(SAMPLES);
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < SAMPLES; i++) {
    const ctx = ctxs[i % 3]!;
    const t0 = process.hrtime.bigint();
    call(ctx);
    samples[i] = Number(process.hrtime.bigint() - t0) / 1000;
  }
  const used = process.cpuUsage(cpu0);
  samples.sort();
  // CPU µs per call (timer reads included) next to wall-clock percentiles: on a shared machine the
  // wall clock also counts time other processes held the core.
  const cpu = (used.user + used.system) / SAMPLES;
  return { median: samples[Math.floor(SAMPLES / 2)]!, p99: samples[Math.floor(SAMPLES * 0.99)]!, cpu };
}

const round = (x: number) => Math.round(x * 100) / 100;

export default async function sandboxBench(emit: Emit): Promise<void> {
  // Peer: wasmoon's default path, ctx handed to Lua as a JS object proxy.
  const engine = await new LuaFactory().createEngine();
  await engine.doString(MODULE_SOURCE);
  const proxyDecide = engine.global.get('decide') as (ctx: unknown) => number;
  const proxy = measure((ctx) =>
    proxyDecide({ cpu: ctx.observation.cpu, replicas: ctx.observation.replicas }),
  );
  engine.global.close();

  const seed = await loadLuaPolicy({ file: 'examples/policies/seed-cpu.lua' });
  const seedState: { out?: PolicyOutcome } = {};
  const seedTimes = measure((ctx) => (seedState.out = seed.evaluate(ctx)));
  emit({
    name: 'sandbox.evaluate.seed-script',
    value: round(seedTimes.median),
    unit: 'µs',
    p99: round(seedTimes.p99),
    cpu_per_call: round(seedTimes.cpu),
    goal: '≤ 3 µs median',
    peer_wasmoon_proxy_median: round(proxy.median),
    peer_wasmoon_proxy_p99: round(proxy.p99),
    peer_wasmoon_proxy_cpu_per_call: round(proxy.cpu),
    ratio_proxy_over_ours: round(proxy.median / seedTimes.median),
  });
  seed.close();

  const mod = await loadLuaPolicy({ source: MODULE_SOURCE, chunkName: 'module.lua' });
  const modTimes = measure((ctx) => mod.evaluate(ctx));
  emit({
    name: 'sandbox.evaluate.module',
    value: round(modTimes.median),
    unit: 'µs',
    p99: round(modTimes.p99),
    cpu_per_call: round(modTimes.cpu),
    peer_wasmoon_proxy_median: round(proxy.median),
    ratio_proxy_over_ours: round(proxy.median / modTimes.median),
  });
  mod.close();

  // One controller tick's worth of calls through the worker (structured clone both ways).
  const worker = await startSandboxWorker({ timeoutMs: 1000 });
  await worker.load('seed', { file: 'examples/policies/seed-cpu.lua' });
  const calls = Array.from({ length: 10_000 }, (_, i) => ({ policyId: 'seed', ctx: context((i * 7) % 100) }));
  await worker.evaluateBatch(calls);
  const runs: number[] = [];
  const cpu: number[] = [];
  for (let r = 0; r < 5; r++) {
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    await worker.evaluateBatch(calls);
    const used = process.cpuUsage(c0);
    runs.push(performance.now() - t0);
    cpu.push((used.user + used.system) / 1000);
  }
  runs.sort((a, b) => a - b);
  cpu.sort((a, b) => a - b);
  const local = await loadLuaPolicy({ file: 'examples/policies/seed-cpu.lua' });
  const t1 = performance.now();
  for (const c of calls) local.evaluate(c.ctx);
  const localMs = performance.now() - t1;
  local.close();
  emit({
    name: 'sandbox.worker.batch-10k',
    value: round(runs[2]!),
    unit: 'ms',
    cpu_ms_main_and_worker: round(cpu[2]!),
    peer_same_calls_in_thread_ms: round(localMs),
  });
  await worker.close();
}
