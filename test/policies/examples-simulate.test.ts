/**
 * Every shipped example policy, through the simulator as `luascale simulate --policy FILE` runs it
 * (default model: 100 req/s per instance, 30 s startup, luascale's default behaviour), on a step
 * trace 100 → 600 → 100 req/s (2 → 6–9 → 2 instances needed) and on a shared real trace: each must
 * scale out and back in, with no policy error (issue 18, "must show"). Before the fix
 * latency-slo.lua climbed to 40 instances and never scaled in; queue-script.lua climbed to 61.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { readTrace, simulate, simulationPolicy, type Trace } from '../../src/simulator/index.js';
import { shared } from '../helpers/shared.js';

const EXAMPLES = 'examples/policies';
const files = readdirSync(EXAMPLES)
  .filter((f) => f.endsWith('.lua'))
  .map((f) => join(EXAMPLES, f));

/** 10 min at 100 req/s, 20 min at 600, 30 min at 100, per-minute rows. */
function stepTrace(): Trace {
  const t: number[] = [];
  const rps: number[] = [];
  for (let s = 0; s < 3600; s += 60) {
    t.push(s);
    rps.push(s < 600 ? 100 : s < 1800 ? 600 : 100);
  }
  return {
    file: 'step.csv',
    t: Float64Array.from(t),
    rps: Float64Array.from(rps),
    stepSeconds: 60,
    durationSeconds: 3600,
    gaps: [],
  };
}

async function run(file: string, trace: Trace, scale = 1) {
  const policy = await simulationPolicy(file, {
    capacity: 100,
    serviceMs: 50,
    startupS: 30,
    min: 1,
    max: 100,
  });
  const replicas: number[] = [];
  try {
    const r = simulate({
      trace,
      scale,
      policy,
      seriesPoints: 0,
      onDecision: (d) => replicas.push(d.replicas),
    });
    return { ...r, replicas };
  } finally {
    policy.policy.close?.();
  }
}

test('there are example policies', () => assert.ok(files.length >= 5, files.join(', ')));

for (const file of files) {
  test(`${file} scales out and back in on the 100 → 600 → 100 req/s step, without errors`, async () => {
    const r = await run(file, stepTrace());
    const e = r.explanation;
    assert.equal(r.summary.policy_errors, 0, JSON.stringify(e.errors));
    const start = r.replicas[0]!;
    const peak = Math.max(...r.replicas);
    const end = r.replicas.at(-1)!;
    assert.ok(peak >= 6, `${file}: peak ${peak} instances for 600 req/s at 100 each`);
    assert.ok(end < peak, `${file}: never scaled in (peak ${peak}, end ${end})`);
    assert.ok(end <= start + 3, `${file}: ends at ${end} after the load fell back (started at ${start})`);
  });
}

test('latency-slo.lua: 6–9 instances at 600 req/s (not 40), back to 2 at 100 req/s', async () => {
  const r = await run(join(EXAMPLES, 'latency-slo.lua'), stepTrace());
  const peak = Math.max(...r.replicas);
  assert.ok(peak >= 6 && peak <= 9, `peak ${peak}`);
  assert.equal(r.replicas.at(-1), 2);
  // The window held scale-downs and then let them through; none was abandoned for a hold.
  assert.ok(r.explanation.held_scale_downs.scaled_in >= 1, JSON.stringify(r.explanation.held_scale_downs));
});

const azure = shared('traces', 'azure-llm-code-2023-11-16-1h-per-second.csv');
for (const file of files) {
  test(
    `${file} scales out and back in on the shared Azure LLM trace (× 10), without errors`,
    { skip: !existsSync(azure) && `no ${azure}` },
    async () => {
      const r = await run(file, readTrace(azure), 10);
      assert.equal(r.summary.policy_errors, 0, JSON.stringify(r.explanation.errors));
      let ups = 0;
      let downs = 0;
      for (let i = 1; i < r.replicas.length; i++) {
        if (r.replicas[i]! > r.replicas[i - 1]!) ups++;
        if (r.replicas[i]! < r.replicas[i - 1]!) downs++;
      }
      assert.ok(ups > 0 && downs > 0, `${file}: ${ups} scale-outs, ${downs} scale-ins`);
    },
  );
}
