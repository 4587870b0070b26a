import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseTrace } from '../../src/simulator/trace.js';
import { simulate, type SimulateOptions } from '../../src/simulator/simulate.js';
import { naturalSettings, simulationPolicy } from '../../src/simulator/simulation-policy.js';
import type { Decision } from '../../src/controller/decision.js';

const model = { capacity: 100, serviceMs: 50, startupS: 30, queueTimeoutS: 30, sloP95Ms: 250, drainS: 1 };
const setup = { capacity: 100, serviceMs: 50, startupS: 30, min: 1, max: 50 };

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'ls-sim-'));
}

function luaPolicy(dir: string, name: string, source: string): string {
  const file = join(dir, name);
  writeFileSync(file, source);
  return file;
}

/** A per-minute trace and the same trace written out per second. */
function twoResolutions(rates: number[]) {
  const perMinute = 't,rps\n' + rates.map((r, i) => `${i * 60},${r}`).join('\n') + '\n';
  const rows: string[] = [];
  rates.forEach((r, i) => {
    for (let s = 0; s < 60; s++) rows.push(`${i * 60 + s},${r}`);
  });
  return {
    minute: parseTrace(perMinute, 'm.csv'),
    second: parseTrace('t,rps\n' + rows.join('\n') + '\n', 's.csv'),
  };
}

test('a steady load on a steady fleet bills exactly instances × seconds, with no violation', async () => {
  const trace = parseTrace('t,rps\n0,150\n600,150\n', 'flat.csv');
  const policy = await simulationPolicy('builtin:target-tracking?metric=rps', setup);
  const r = simulate({ trace, model, policy, seriesPoints: 0 });
  const s = r.summary;
  // target 70 % of 100 req/s: ceil(150 / 70) = 3 from the start
  assert.equal(s.seconds, 1200);
  assert.equal(s.instance_seconds, 3 * 1200);
  assert.equal(s.instance_hours, Math.round(((3 * 1200) / 3600) * 1e4) / 1e4);
  assert.equal(s.ideal_instance_hours, Math.round(((2 * 1200) / 3600) * 1e4) / 1e4); // ceil(150/100) = 2
  assert.equal(s.scale_actions, 0);
  assert.equal(s.slo_violation_seconds, 0);
  assert.equal(s.dropped_requests, 0);
  assert.equal(s.total_requests, 150 * 1200);
  assert.equal(s.mean_utilization, 0.5);
  assert.equal(s.max_replicas, 3);
  assert.equal(s.decisions, 1200); // 1 s interval
  // demand is 2 (p95 at 75 % on 2 instances meets 250 ms), supply 3: over-provisioned all the time
  assert.equal(s.over_provisioning_timeshare, 100);
  assert.equal(s.under_provisioning_timeshare, 0);
  assert.equal(s.over_provisioning_accuracy, 50);
  policy.policy.close?.();
});

test('a per-minute trace and its per-second expansion give identical results (the fast path is exact)', async () => {
  const dir = tmp();
  try {
    const file = luaPolicy(dir, 'p.lua', 'function decide(ctx)\n  return math.ceil(ctx.rps / 60)\nend\n');
    const { minute, second } = twoResolutions([100, 100, 400, 900, 900, 300, 120, 100, 600, 100, 100, 100]);
    for (const arg of [file, 'builtin:hpa', 'builtin:kpa']) {
      const runs = [];
      for (const trace of [minute, second]) {
        const policy = await simulationPolicy(arg, setup);
        const decisions: Array<[number, number, string]> = [];
        const r = simulate({
          trace,
          model,
          policy,
          seriesPoints: 0,
          onDecision: (d, t) => decisions.push([t, d.replicas, d.reason]),
        });
        policy.policy.close?.();
        runs.push({ summary: { ...r.summary, policy: '' }, decisions });
      }
      assert.deepEqual(runs[0], runs[1], arg);
      assert.ok(runs[0]!.summary.scale_actions > 0, `${arg} scaled`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a scale-up decided at the end of second t serves from second t + 1 + startup', async () => {
  const dir = tmp();
  try {
    const file = luaPolicy(
      dir,
      'p.lua',
      'function decide(ctx)\n  if ctx.rps > 150 then return 4 end\n  return 1\nend\n',
    );
    const trace = parseTrace('t,rps\n0,50\n100,300\n400,300\n', 'step.csv');
    const policy = await simulationPolicy(file, { ...setup, intervalMs: 1000 });
    let upAt = -1;
    const r = simulate({
      trace,
      model: { ...model, startupS: 30 },
      policy,
      initial: 1,
      seriesPoints: 100_000,
      onDecision: (d: Decision, t) => {
        if (upAt < 0 && d.replicas > d.current) upAt = t;
      },
    });
    policy.policy.close?.();
    assert.equal(upAt, 100); // the first second at 300 req/s is 100; its decision comes at its end
    const ready = r.series!.ready;
    assert.equal(r.series!.bucketS, 1);
    assert.equal(ready[100 + 30], 1);
    assert.equal(ready[100 + 1 + 30], 4);
    // one instance at 300 req/s for 31 s: the backlog grows 200/s, so p95 passes the SLO at once and
    // requests that would wait beyond the 30 s timeout are dropped
    assert.ok(r.summary.slo_violation_seconds >= 31);
    assert.ok(r.summary.dropped_requests > 0);
    // billed: 1 instance throughout, plus 3 from launch (second 101) to the end (second 499)
    assert.equal(r.summary.instance_seconds, 500 + 3 * (500 - 101));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('ctx.history in a Lua policy reads the simulated past at 1 s steps', async () => {
  const dir = tmp();
  try {
    const file = luaPolicy(
      dir,
      'h.lua',
      'function decide(ctx)\n  local h = ctx.history("rps", 20)\n  local last = h[#h] or -1\n  return { replicas = #h, reason = string.format("%g", last) }\nend\n',
    );
    const trace = parseTrace('t,rps\n0,7\n60,9\n', 'h.csv');
    const policy = await simulationPolicy(file, { ...setup, max: 100 });
    const raw: Array<[number, number, string]> = [];
    simulate({
      trace,
      model,
      policy,
      seriesPoints: 0,
      onDecision: (d, t) => {
        const o = d.policy.outcome;
        if (o.ok) raw.push([t, o.replicas, o.reason ?? '']);
      },
    });
    policy.policy.close?.();
    assert.deepEqual(raw[0], [0, 1, '7']); // after second 0: one value
    assert.deepEqual(raw[4], [4, 5, '7']);
    assert.deepEqual(raw[30], [30, 20, '7']); // capped by the 20 s asked for
    assert.deepEqual(raw[60], [60, 20, '9']); // second 60 is in the next bucket
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('seeded Poisson runs repeat exactly; another seed gives other arrivals', async () => {
  const trace = parseTrace('t,rps\n0,120\n60,300\n120,80\n', 'p.csv');
  const run = async (seed: number) => {
    const policy = await simulationPolicy('builtin:hpa', setup);
    const r = simulate({ trace, model, policy, seed, seriesPoints: 0 } satisfies SimulateOptions);
    return r.summary;
  };
  const a = await run(1);
  assert.deepEqual(await run(1), a);
  const b = await run(2);
  assert.notEqual(b.total_requests, a.total_requests);
  assert.ok(Math.abs(a.total_requests - 60 * 500) < 600);
});

test('built-ins run at their systems own periods and derive their targets from the capacity', async () => {
  assert.equal(naturalSettings('hpa').intervalMs, 15_000);
  assert.equal(naturalSettings('hpa').behavior.panic.enabled, false);
  assert.equal(naturalSettings('hpa').behavior.scaleDown.stabilizationMs, 300_000);
  assert.equal(naturalSettings('kpa').intervalMs, 2_000);
  assert.equal(naturalSettings('kpa').behavior.tolerance, 0);
  assert.equal(naturalSettings(undefined).intervalMs, 1_000);
  const kpa = await simulationPolicy('builtin:kpa', setup);
  assert.deepEqual(kpa.params, { metric: 'rps', target: 100 }); // × target_utilization 0.7 inside the KPA
  const kpa2 = await simulationPolicy('builtin:kpa?target=30', setup);
  assert.deepEqual(kpa2.params, { target: 30 });
  const pred = await simulationPolicy('builtin:predictive', setup);
  assert.equal(pred.params.capacity, 100);
  assert.equal(pred.params.startup_s, 30);
  const hpa = await simulationPolicy('builtin:hpa', { ...setup, intervalMs: 5000 });
  assert.equal(hpa.intervalMs, 5000);
});

test('every decision of a run sees the same ctx.slo object, so the sandbox sends it to Lua once', async () => {
  // A fresh slo object per decision made the sandbox re-send and re-wrap ctx.slo every call
  // (~3 µs of a ~10 µs decision): the value is the model's SLO, identical for the whole run.
  const trace = parseTrace('t,rps\n0,150\n60,400\n120,90\n', 'steps.csv');
  const seen = new Set<unknown>();
  const policy = await simulationPolicy('builtin:target-tracking?metric=rps', setup);
  const inner = policy.policy;
  const spy = {
    ...policy,
    policy: {
      ...inner,
      evaluate: (ctx: Parameters<typeof inner.evaluate>[0]) => {
        seen.add(ctx.observation.slo);
        return inner.evaluate(ctx);
      },
    },
  };
  const r = simulate({ trace, model, policy: spy, seriesPoints: 0 });
  assert.ok(r.summary.decisions >= 180);
  assert.equal(seen.size, 1);
  assert.deepEqual([...seen][0], { latency_p95_ms: 250 });
});
