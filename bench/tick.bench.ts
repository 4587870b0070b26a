/**
 * One controller tick over 10,000 services: decide() for every service, carrying each one's state
 * to the next tick, as the live controller does (goal: ≤ 250 ms per tick on one core).
 *
 * Side by side in the same run:
 * - `policy_only_ms`: the same 10,000 policy calls without the pipeline, so the ratio shows what
 *   the decision core adds on top of the policy;
 * - the seed Lua policy (examples/policies/seed-cpu.lua) through the sandbox, one VM shared by
 *   all services, when src/sandbox/lua-policy.ts is present.
 * Observations vary per service and per tick (deterministic), so services scale up, down, hold
 * in windows and hit limits: the pipeline is exercised, not just its fast path. Each service
 * starts with full windows (see fullWindows), so the figure is the steady state, not a cold start.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join } from 'node:path';
import type { Emit } from './run.js';
import { decide, defaultBehavior } from '../src/controller/decide.js';
import { initialDecisionState, type DecisionState, type ScalingSpec } from '../src/controller/decision.js';
import {
  completeObservation,
  emptyHistory,
  type Observation,
  type Policy,
  type PolicyContext,
  type PolicyOutcome,
} from '../src/policy/policy.js';

const SERVICES = 10_000;
const WARMUP_TICKS = 3;
const TICKS = 11;
const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** A target-tracking ratio policy in plain JS: desired = ceil(ready × cpu / target). */
function jsTargetTracking(target: number): Policy {
  return {
    name: 'bench:js-target-tracking',
    evaluate(ctx: PolicyContext): PolicyOutcome {
      const o = ctx.observation;
      const replicas =
        o.ready > 0 && o.cpu !== undefined ? Math.ceil((o.ready * o.cpu) / target - 1e-9) : o.replicas;
      return {
        ok: true,
        replicas,
        reason: `cpu ${o.cpu}% vs ${target}%`,
        raw: replicas,
        logs: [],
        alerts: [],
      };
    },
  };
}

/** Deterministic per-service, per-tick CPU between 5 % and 95 %. */
function cpuOf(i: number, tick: number): number {
  return 5 + ((i * 37 + tick * 11 + ((i * tick) % 13)) % 91);
}

const START = 1_000_000;

/**
 * Worst-case steady state: a full 300 s scale-down window of distinct recommendations at the 1 s
 * interval (no equal runs to compress) and a change in each of the last 15 s.
 */
function fullWindows(i: number, now: number): DecisionState {
  const recommendations: DecisionState['recommendations'] = [];
  for (let age = 299; age >= 1; age--)
    recommendations.push({ t: now - age * 1000, replicas: 1 + ((i + age) % 2 ? 3 : 4) });
  const changes: DecisionState['changes'] = [];
  for (let age = 14; age >= 1; age--) changes.push({ t: now - age * 1000, from: 3, to: 3 });
  return { ...initialDecisionState(), recommendations, changes, lastChangeAt: now - 1000 };
}

interface Fleet {
  specs: ScalingSpec[];
  states: DecisionState[];
  replicas: number[];
}

function fleet(policyFor: (i: number) => Policy): Fleet {
  const specs: ScalingSpec[] = [];
  const states: DecisionState[] = [];
  const replicas: number[] = [];
  for (let i = 0; i < SERVICES; i++) {
    specs.push({
      service: `svc-${i}`,
      min: 1,
      max: 50,
      intervalMs: 1000,
      behavior: defaultBehavior(),
      policy: policyFor(i),
      params: {},
    });
    states.push(fullWindows(i, START));
    replicas.push(1 + (i % 8));
  }
  return { specs, states, replicas };
}

function observations(f: Fleet, tick: number): Observation[] {
  const out: Observation[] = new Array(SERVICES);
  for (let i = 0; i < SERVICES; i++) {
    const r = f.replicas[i]!;
    const starting = (i + tick) % 17 === 0 && r > 1 ? 1 : 0;
    out[i] = completeObservation({
      replicas: r,
      ready: r - starting,
      starting,
      cpu: cpuOf(i, tick),
      rps: 100 + (i % 50),
    });
  }
  return out;
}

/** Runs one tick over the fleet; returns its wall time in ms. */
function tick(f: Fleet, obs: Observation[], now: number): number {
  const t0 = performance.now();
  for (let i = 0; i < SERVICES; i++) {
    const { decision, state } = decide(f.specs[i]!, {
      observation: obs[i]!,
      history: emptyHistory,
      state: f.states[i]!,
      now,
    });
    f.states[i] = state;
    f.replicas[i] = decision.replicas;
  }
  return performance.now() - t0;
}

/** The same policy calls without the pipeline. */
function policyOnly(f: Fleet, obs: Observation[], now: number): number {
  const t0 = performance.now();
  let sink = 0;
  for (let i = 0; i < SERVICES; i++) {
    const s = f.specs[i]!;
    const out = s.policy.evaluate({
      service: s.service,
      now,
      min: s.min,
      max: s.max,
      observation: obs[i]!,
      params: s.params,
      state: {},
      history: emptyHistory,
    });
    if (out.ok) sink += out.replicas;
  }
  if (sink < 0) throw new Error('unreachable');
  return performance.now() - t0;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function measure(f: Fleet): { tickMs: number[]; policyMs: number[] } {
  const tickMs: number[] = [];
  const policyMs: number[] = [];
  let now = START;
  for (let k = 0; k < WARMUP_TICKS + TICKS; k++) {
    const obs = observations(f, k);
    const pm = policyOnly(f, obs, now);
    const tm = tick(f, obs, now);
    if (k >= WARMUP_TICKS) {
      tickMs.push(tm);
      policyMs.push(pm);
    }
    now += 1000;
  }
  return { tickMs, policyMs };
}

function round(x: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** Loads the seed policy through the sandbox, when the sandbox exists. */
async function seedLuaPolicy(): Promise<Policy | null> {
  const modPath = join(root, 'src/sandbox/lua-policy.ts');
  if (!existsSync(modPath)) return null;
  const mod = (await import(pathToFileURL(modPath).href)) as {
    loadLuaPolicy?: (o: { source?: string; file?: string }) => Policy | Promise<Policy>;
  };
  if (typeof mod.loadLuaPolicy !== 'function') return null;
  const file = join(root, 'examples/policies/seed-cpu.lua');
  return await mod.loadLuaPolicy({ source: readFileSync(file, 'utf8'), file });
}

/** Bench entry: emits the JS-policy tick, and the Lua-policy tick when the sandbox is there. */
export default async function (emit: Emit): Promise<void> {
  const js = jsTargetTracking(60);
  const jsRun = measure(fleet(() => js));
  const tickMs = median(jsRun.tickMs);
  const policyMs = median(jsRun.policyMs);
  emit({
    name: 'controller tick, 10k services, JS target-tracking policy',
    value: round(tickMs),
    unit: 'ms/tick',
    goal_ms: 250,
    ticks: TICKS,
    min_ms: round(Math.min(...jsRun.tickMs)),
    max_ms: round(Math.max(...jsRun.tickMs)),
    us_per_decide: round((tickMs * 1000) / SERVICES, 3),
    policy_only_ms: round(policyMs),
    pipeline_overhead_ratio: round(tickMs / Math.max(policyMs, 1e-6)),
  });

  let lua: Policy | null = null;
  try {
    lua = await seedLuaPolicy();
  } catch (err) {
    process.stderr.write(
      `tick.bench: Lua sandbox not usable, skipping the Lua figure: ${(err as Error).message}\n`,
    );
  }
  if (!lua) return;
  try {
    const luaRun = measure(fleet(() => lua!));
    const luaTick = median(luaRun.tickMs);
    emit({
      name: 'controller tick, 10k services, seed Lua policy (one shared VM)',
      value: round(luaTick),
      unit: 'ms/tick',
      goal_ms: 250,
      ticks: TICKS,
      min_ms: round(Math.min(...luaRun.tickMs)),
      max_ms: round(Math.max(...luaRun.tickMs)),
      us_per_decide: round((luaTick * 1000) / SERVICES, 3),
      policy_only_ms: round(median(luaRun.policyMs)),
      js_policy_tick_ms: round(tickMs),
      lua_vs_js_ratio: round(luaTick / Math.max(tickMs, 1e-6)),
    });
  } finally {
    lua.close?.();
  }
}
