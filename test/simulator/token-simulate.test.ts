import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseTokenTrace } from '../../src/simulator/token-trace.js';
import { simulateTokens, type TokenSimulateOptions } from '../../src/simulator/token-simulate.js';
import { simulationPolicy } from '../../src/simulator/simulation-policy.js';
import { ttftViolationSeconds } from '../../src/simulator/token-stats.js';
import type { Policy } from '../../src/policy/policy.js';
import type { SimulatedPolicy } from '../../src/simulator/simulate.js';
import { defaultBehavior } from '../../src/controller/decide.js';

/** A policy that always answers `n` (and records what it saw). */
function fixed(n: number, seen: Array<Record<string, unknown>> = []): SimulatedPolicy {
  const policy: Policy = {
    name: 'fixed',
    evaluate(ctx) {
      seen.push({ ...(ctx.observation as unknown as Record<string, unknown>) });
      return { ok: true, replicas: n, raw: n, logs: [], alerts: [] };
    },
  };
  return {
    label: `fixed:${n}`,
    policy,
    params: {},
    intervalMs: 1000,
    behavior: defaultBehavior(),
    min: 0,
    max: 10,
  };
}

const burst = parseTokenTrace(
  't,context_tokens,generated_tokens\n' +
    Array.from({ length: 100 }, (_, i) => `${(i * 0.01).toFixed(2)},1000,10`).join('\n'),
);

function run(policy: SimulatedPolicy, o: Partial<TokenSimulateOptions> = {}) {
  return simulateTokens({
    trace: burst,
    startupS: 5,
    queueTimeoutS: 30,
    ttftSloMs: 1000,
    policy,
    initial: 1,
    seriesPoints: 0,
    ...o,
  });
}

test('a token replay reports replica-hours, TTFT quantiles, violations, tokens and drops', () => {
  const s = run(fixed(1)).summary;
  assert.equal(s.total_requests, 100);
  assert.equal(s.requests_dropped, 0);
  assert.equal(s.tokens_in, 100_000);
  assert.equal(s.tokens_out, 1000);
  assert.equal(s.tokens_served, 101_000);
  assert.ok(s.ttft_p50_ms > 230 && s.ttft_p95_ms > s.ttft_p50_ms && s.ttft_p99_ms >= s.ttft_p95_ms);
  // 100 requests in 1 s on one replica of 16 seats: they queue, and their (only) second violates.
  assert.ok(s.ttft_p95_ms > 1000, `${s.ttft_p95_ms}`);
  assert.equal(s.ttft_slo_violation_seconds, 1);
  assert.equal(s.replica_hours, s.instance_hours);
  assert.equal(s.replica_hours, Math.round((s.seconds / 3600) * 1e4) / 1e4);
});

test('more replicas (ready from the start) cut TTFT and the violations', () => {
  const one = run(fixed(1)).summary;
  const four = run(fixed(4), { initial: 4 }).summary;
  assert.ok(four.ttft_p95_ms < one.ttft_p95_ms / 2, `${four.ttft_p95_ms} vs ${one.ttft_p95_ms}`);
  assert.equal(four.ttft_slo_violation_seconds, 0);
  assert.ok(four.replica_hours > 3.9 * one.replica_hours);
});

test('policies see the llm signals; a window without a first token has no TTFT (absent, not 0)', () => {
  const seen: Array<Record<string, unknown>> = [];
  run(fixed(1, seen));
  const llm = seen.map((o) => o.llm as Record<string, unknown>);
  assert.ok(llm.some((l) => (l.running as number) > 0 && (l.waiting as number) > 0));
  assert.ok(llm.some((l) => (l.ttft as Record<string, number>).p95! > 0));
  const idle = llm[llm.length - 1]!;
  assert.equal((idle.ttft as Record<string, unknown>).p95, undefined);
  assert.equal(idle.prefix_hit_rate, undefined);
  assert.equal(seen[0]!.startup_s, 5);
});

test('with 0 replicas requests wait at the gateway for the first one (startup), then run', () => {
  const s = run(fixed(1), { initial: 0 }).summary;
  assert.equal(s.requests_dropped, 0);
  assert.ok(s.ttft_p50_ms > 5000, `${s.ttft_p50_ms}`);
});

test('the verdict is by arrival second: a dropped request or p95 over the SLO', () => {
  const at = Float64Array.from([100, 200, 1100, 1200, 2100]);
  assert.equal(ttftViolationSeconds(at, Float64Array.from([10, 20, 10, Number.NaN, 10]), 50), 1);
  assert.equal(ttftViolationSeconds(at, Float64Array.from([10, 90, 10, 10, Infinity]), 50), 2);
});

test('built-ins run on token traces: keda-llm-waiting, llm-saturation and llm-slo scale up a burst', async () => {
  const big = parseTokenTrace(
    't,context_tokens,generated_tokens\n' +
      Array.from({ length: 1200 }, (_, i) => `${(i * 0.025).toFixed(3)},1500,20`).join('\n'),
  );
  for (const spec of ['builtin:keda-llm-waiting', 'builtin:llm-saturation', 'builtin:llm-slo']) {
    const p = await simulationPolicy(spec, { capacity: 10, serviceMs: 500, startupS: 10, min: 1, max: 20 });
    const s = simulateTokens({
      trace: big,
      startupS: 10,
      queueTimeoutS: 30,
      ttftSloMs: 2000,
      policy: p,
      seriesPoints: 0,
    }).summary;
    assert.equal(s.policy_errors, 0, spec);
    assert.ok(s.max_replicas >= 2, `${spec}: ${s.max_replicas}`);
  }
});
