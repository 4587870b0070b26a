/**
 * The Lua versions of the LLM built-ins (issue 20): examples/policies/llm-saturation.lua answers as
 * builtin:llm-saturation on a token-trace replay, decision for decision; `luascale eval` runs both
 * examples on engine signals; llm-slo.lua reads the TTFT objective from ctx.slo and sizes for it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseTokenTrace, simulateTokens, simulationPolicy } from '../../src/simulator/index.js';
import { runCli } from '../helpers/run-cli.js';

// Five minutes of bursts (40 req/s for 20 s every 60 s, 1,500-token prompts), then ten quiet minutes.
const trace = parseTokenTrace(
  't,context_tokens,generated_tokens\n' +
    Array.from({ length: 4000 }, (_, i) => {
      const t = Math.floor(i / 800) * 60 + (i % 800) * 0.025;
      return `${t.toFixed(3)},1500,${10 + (i % 20)}`;
    }).join('\n') +
    '\n900,100,5',
);

async function replay(spec: string) {
  const policy = await simulationPolicy(spec, {
    capacity: 10,
    serviceMs: 500,
    startupS: 20,
    min: 1,
    max: 30,
  });
  const replicas: number[] = [];
  try {
    const r = simulateTokens({
      trace,
      startupS: 20,
      queueTimeoutS: 30,
      ttftSloMs: 2000,
      policy,
      seriesPoints: 0,
      onDecision: (d) => replicas.push(d.replicas),
    });
    return { summary: r.summary, replicas };
  } finally {
    policy.policy.close?.();
  }
}

test('llm-saturation.lua decides as builtin:llm-saturation on a token trace, every tick', async () => {
  const lua = await replay('examples/policies/llm-saturation.lua');
  const builtin = await replay('builtin:llm-saturation');
  assert.equal(lua.summary.policy_errors, 0);
  assert.ok(Math.max(...lua.replicas) >= 3, `${Math.max(...lua.replicas)}`);
  assert.deepEqual(lua.replicas, builtin.replicas);
});

test('llm-slo.lua scales out for the bursts and back in after them, without errors', async () => {
  const r = await replay('examples/policies/llm-slo.lua');
  assert.equal(r.summary.policy_errors, 0);
  const peak = Math.max(...r.replicas);
  assert.ok(peak >= 3, `peak ${peak}`);
  assert.ok(r.replicas[r.replicas.length - 1]! < peak, `ends at ${r.replicas[r.replicas.length - 1]}`);
});

test('luascale eval runs the examples on engine signals', async () => {
  const sat = await runCli(
    'eval',
    'examples/policies/llm-saturation.lua',
    '--input',
    '{"replicas":4,"ready":4,"llm":{"waiting":20,"kv_util":0.2}}',
    '--json',
  );
  assert.equal(sat.code, 0, sat.stderr);
  // waiting 20 / (5 − 3) (the decision core then limits the step)
  assert.equal((JSON.parse(sat.stdout) as { recommended: number }).recommended, 10);
  // Nothing waits, so this one call fits the model (16 running at 20 req/s: 0.8 s a request) and sizes.
  const input = {
    replicas: 2,
    ready: 2,
    rps: 20,
    slo: { ttft_p95_ms: 1500 },
    latency: { p50: 300, p95: 800, p99: 900 },
    llm: { waiting: 0, running: 16 },
  };
  const slo = await runCli(
    'eval',
    'examples/policies/llm-slo.lua',
    '--input',
    JSON.stringify(input),
    '--json',
  );
  assert.equal(slo.code, 0, slo.stderr);
  const out = JSON.parse(slo.stdout) as { recommended: number; steps: Array<{ note: string }> };
  assert.match(out.steps[0]!.note, /TTFT p95 <= 1500 ms at 20\.0 req\/s/);
  assert.ok(out.recommended >= 2 && out.recommended <= 4, `${out.recommended}`);
});
