/**
 * Simulator scenarios as regression tests: each scenarios/<name>/scenario.json names a trace
 * excerpt, the model, and policies with the bounds their results must stay within
 * (docs/simulator.md, "Scenarios"). Run one with SCENARIO=name; SCENARIO_PRINT=1 prints results.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseDuration } from '../src/core/duration.js';
import { readTrace } from '../src/simulator/trace.js';
import { simulate, type ModelParams, type SimulationSummary } from '../src/simulator/simulate.js';
import { simulationPolicy } from '../src/simulator/simulation-policy.js';

/** Bounds on one summary field. */
type Bound = { min?: number; max?: number; equals?: number };

interface Scenario {
  description: string;
  trace: string;
  scale?: number;
  seed?: number;
  model?: Partial<ModelParams>;
  min?: number;
  max?: number;
  runs: Array<{
    policy: string;
    params?: Record<string, unknown>;
    interval?: string;
    expect?: Record<string, Bound>;
  }>;
  /** Bounds across runs: `[a, "<=", b, field]` compares two runs' field. */
  compare?: Array<{ better: string; than: string; field: keyof SimulationSummary; factor?: number }>;
}

const root = resolve(import.meta.dirname, '../scenarios');
const only = process.env.SCENARIO;

for (const name of existsSync(root) ? readdirSync(root).sort() : []) {
  const dir = join(root, name);
  const file = join(dir, 'scenario.json');
  if (!existsSync(file) || (only && only !== name)) continue;
  const sc = JSON.parse(readFileSync(file, 'utf8')) as Scenario;
  test(`scenario ${name}: ${sc.description}`, async () => {
    const trace = readTrace(join(dir, sc.trace));
    const model = {
      capacity: 100,
      serviceMs: 50,
      startupS: 30,
      queueTimeoutS: 30,
      sloP95Ms: 250,
      drainS: 1,
      ...sc.model,
    };
    const results = new Map<string, SimulationSummary>();
    for (const run of sc.runs) {
      const arg = run.policy.startsWith('builtin:') ? run.policy : resolve(dir, run.policy);
      const policy = await simulationPolicy(arg, {
        capacity: model.capacity,
        serviceMs: model.serviceMs,
        startupS: model.startupS,
        min: sc.min ?? 1,
        max: sc.max ?? 100,
        intervalMs: run.interval ? parseDuration(run.interval) : undefined,
        params: run.params,
      });
      try {
        const { summary } = simulate({
          trace,
          scale: sc.scale,
          seed: sc.seed,
          model,
          policy,
          seriesPoints: 0,
        });
        results.set(run.policy, summary);
        if (process.env.SCENARIO_PRINT) console.log(name, JSON.stringify(summary));
        // invariants every run keeps
        assert.ok(
          summary.instance_hours >= summary.ideal_instance_hours * 0.5,
          'cost is not absurdly below the ideal',
        );
        assert.ok(summary.dropped_requests <= summary.total_requests);
        assert.equal(summary.policy_errors, 0, `${run.policy}: policy errors`);
        for (const [field, b] of Object.entries(run.expect ?? {})) {
          const v = Number(summary[field as keyof SimulationSummary]);
          const where = `${name} ${run.policy} ${field} = ${v}`;
          if (b.equals !== undefined) assert.equal(v, b.equals, where);
          if (b.min !== undefined) assert.ok(v >= b.min, `${where} < min ${b.min}`);
          if (b.max !== undefined) assert.ok(v <= b.max, `${where} > max ${b.max}`);
        }
      } finally {
        policy.policy.close?.();
      }
    }
    for (const c of sc.compare ?? []) {
      const a = Number(results.get(c.better)![c.field]);
      const b = Number(results.get(c.than)![c.field]);
      assert.ok(
        a <= b * (c.factor ?? 1),
        `${name}: ${c.better} ${c.field} ${a} should be <= ${c.factor ?? 1} × ${c.than}'s ${b}`,
      );
    }
  });
}
