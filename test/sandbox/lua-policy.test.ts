/** Lua policies: the seed sample, module and script styles, ctx fields, state, history and forecast. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadLuaPolicy } from '../../src/sandbox/lua-policy.js';
import { isModuleStyle } from '../../src/sandbox/module-style.js';
import { isLuascaleError } from '../../src/core/errors.js';
import type { PolicyOutcome } from '../../src/policy/policy.js';
import { contextFor, fakeHistory } from './sandbox-fixtures.js';

function ok(outcome: PolicyOutcome): Extract<PolicyOutcome, { ok: true }> {
  assert.ok(outcome.ok, `expected ok, got ${JSON.stringify(outcome)}`);
  return outcome;
}

test('the seed sample scales 2 → 3 at cpu 85, with its log message', async () => {
  const policy = await loadLuaPolicy({ file: 'examples/policies/seed-cpu.lua' });
  assert.equal(policy.style, 'script');
  const out = ok(policy.evaluate(contextFor({ cpu: 85, replicas: 2 })));
  assert.equal(out.replicas, 3);
  // cpu is a measurement, a Lua float even when whole (as it is live): Lua prints it as 85.0.
  assert.deepEqual(out.logs, ['Scaled up instances due to high CPU usage: 85.0%']);
  policy.close();
});

test('the seed sample scales 2 → 1 at cpu 10 and keeps 2 at cpu 50', async () => {
  const policy = await loadLuaPolicy({ file: 'examples/policies/seed-cpu.lua' });
  const low = ok(policy.evaluate(contextFor({ cpu: 10, replicas: 2 })));
  assert.equal(low.replicas, 1);
  assert.deepEqual(low.logs, ['Scaled down instances due to low CPU usage: 10.0%']);
  const mid = ok(policy.evaluate(contextFor({ cpu: 50, replicas: 2 })));
  assert.equal(mid.replicas, 2);
  assert.deepEqual(mid.logs, []);
  policy.close();
});

test('a fractional cpu prints as Lua prints it; counts print without ".0"', async () => {
  const policy = await loadLuaPolicy({
    source: 'log(get_cpu_usage() .. " " .. get_replicas())',
    chunkName: 'p.lua',
  });
  assert.deepEqual(ok(policy.evaluate(contextFor({ cpu: 85.5, replicas: 4 }))).logs, ['85.5 4']);
  policy.close();
});

test('module style: a global decide(ctx) returning { replicas, reason }', async () => {
  const policy = await loadLuaPolicy({
    source: 'function decide(ctx)\n  return { replicas = ctx.replicas * 2, reason = "double" }\nend\n',
    chunkName: 'policies/double.lua',
  });
  assert.equal(policy.style, 'module');
  const out = ok(policy.evaluate(contextFor({ replicas: 3 })));
  assert.equal(out.replicas, 6);
  assert.equal(out.reason, 'double');
  assert.deepEqual(out.raw, { replicas: 6, reason: 'double' });
  policy.close();
});

test('module style: a returned table with decide, and module locals kept between calls', async () => {
  const policy = await loadLuaPolicy({
    source:
      'local M = {}\nlocal calls = 0\nfunction M.decide(ctx)\n  calls = calls + 1\n  return calls\nend\nreturn M\n',
    chunkName: 'policies/count.lua',
  });
  assert.equal(policy.style, 'module');
  assert.equal(ok(policy.evaluate(contextFor({}))).replicas, 1);
  assert.equal(ok(policy.evaluate(contextFor({}))).replicas, 2);
  policy.close();
});

test('script style: set_replicas and scale_up/down combine relative to ctx.replicas', async () => {
  const cases: Array<[string, number]> = [
    ['scale_up_instances(2)', 6],
    ['scale_down_instances()', 3],
    ['set_replicas(7)', 7],
    ['set_replicas(7) scale_up_instances()', 8],
    ['scale_up_instances() set_replicas(2)', 2],
    ['scale_up_instances() scale_down_instances()', 4],
    ['return 9', 9],
  ];
  for (const [source, expected] of cases) {
    const policy = await loadLuaPolicy({ source, chunkName: 's.lua' });
    assert.equal(ok(policy.evaluate(contextFor({ replicas: 4 }))).replicas, expected, source);
    policy.close();
  }
});

test('relative steps count from the ready instances and stop at zero', async () => {
  // 3 replicas, one still starting: the seed's scale-up asks for ready + 1 = 3, which launches
  // nothing more while the last step is coming (AWS warm-up; Knative #13284's over-scaling).
  const seed = await loadLuaPolicy({ file: 'examples/policies/seed-cpu.lua' });
  assert.equal(ok(seed.evaluate(contextFor({ cpu: 85, replicas: 3, starting: 1 }))).replicas, 3);
  seed.close();
  const down = await loadLuaPolicy({ source: 'scale_down_instances(5)', chunkName: 'down.lua' });
  assert.equal(ok(down.evaluate(contextFor({ replicas: 2 }))).replicas, 0);
  down.close();
});

test('script-style getters read every load signal; alert() is collected', async () => {
  const policy = await loadLuaPolicy({
    source: [
      'log(table.concat({ get_cpu_usage(), get_memory_usage(), get_request_rate(), get_error_rate(),',
      '  get_queue_length(), get_replicas(), get_latency(50), get_latency(95), get_latency(99), get_latency() }, ","))',
      'log(tostring(get_metric("queue_depth")) .. "," .. tostring(get_metric("latency.p99")) .. "," .. tostring(get_metric("nope")))',
      'alert("warning", "latency high")',
    ].join('\n'),
    chunkName: 'getters.lua',
  });
  const out = ok(
    policy.evaluate(
      contextFor({
        cpu: 70,
        memory: 40,
        rps: 120,
        error_rate: 0.5,
        queue: 3,
        replicas: 5,
        latency: { p50: 10, p95: 20, p99: 30 },
        metrics: { queue_depth: 42 },
      }),
    ),
  );
  assert.deepEqual(out.logs, [
    'getters.lua:3: get_metric("nope"): unknown metric (known: cpu, memory, rps, inflight, queue, shed_rps, latency.p50, latency.p95, latency.p99, error_rate, replicas, ready, starting, llm.waiting, llm.running, llm.kv_util, llm.ttft.p50, llm.ttft.p95, llm.itl.p50, llm.itl.p95, llm.tokens_in_rps, llm.tokens_out_rps, llm.inflight_tokens, llm.prefix_hit_rate; custom: queue_depth); reported once',
    '70.0,40.0,120.0,0.5,3.0,5,10.0,20.0,30.0,20.0',
    '42.0,30.0,nil',
  ]);
  assert.deepEqual(out.alerts, [{ severity: 'warning', message: 'latency high' }]);
  policy.close();
});

test('ctx carries scale, load, slo, operations and params', async () => {
  const policy = await loadLuaPolicy({
    source: [
      'function decide(ctx)',
      '  log(string.format("%d %d %d %d %d %d", ctx.replicas, ctx.ready, ctx.starting, ctx.min, ctx.max, ctx.now))',
      '  log(string.format("%g %g %g %g %g %g %g", ctx.cpu, ctx.memory, ctx.rps, ctx.inflight, ctx.queue, ctx.shed_rps, ctx.error_rate))',
      '  log(string.format("%g %g %g %g", ctx.latency.p50, ctx.latency.p95, ctx.latency.p99, ctx.slo.latency_p95_ms))',
      '  log(string.format("%g %g %s", ctx.operations.getUser.rps, ctx.operations.getUser.slo.latency_p95_ms, ctx.params.mode))',
      '  log(ctx.service)',
      '  return ctx.params.target',
      'end',
    ].join('\n'),
    chunkName: 'fields.lua',
  });
  const op = {
    cpu: 0,
    memory: 0,
    rps: 7,
    inflight: 0,
    queue: 0,
    shed_rps: 0,
    latency: { p50: 1, p95: 2, p99: 3 },
    error_rate: 0,
    slo: { latency_p95_ms: 50 },
  };
  const out = ok(
    policy.evaluate(
      contextFor(
        {
          replicas: 4,
          ready: 3,
          starting: 1,
          cpu: 55.5,
          memory: 30,
          rps: 100,
          inflight: 8,
          queue: 2,
          shed_rps: 1,
          error_rate: 0.01,
          latency: { p50: 5, p95: 15, p99: 25 },
          slo: { latency_p95_ms: 200 },
          operations: { getUser: op },
        },
        { min: 2, max: 20, now: 12345, params: { mode: 'fast', target: 6 } },
      ),
    ),
  );
  assert.deepEqual(out.logs, [
    '4 3 1 2 20 12345',
    '55.5 30 100 8 2 1 0.01',
    '5 15 25 200',
    '7 50 fast',
    'web',
  ]);
  assert.equal(out.replicas, 6);
  policy.close();
});

test('ctx.state persists across calls when the outcome state is passed back', async () => {
  const policy = await loadLuaPolicy({
    source:
      'function decide(ctx)\n  ctx.state.ticks = (ctx.state.ticks or 0) + 1\n  ctx.state.seen = ctx.state.seen or {}\n  table.insert(ctx.state.seen, ctx.cpu)\n  return ctx.replicas\nend',
    chunkName: 'state.lua',
  });
  let state: Record<string, unknown> = {};
  for (const cpu of [10, 20, 30]) {
    const out = ok(policy.evaluate(contextFor({ cpu, replicas: 2 }, { state })));
    state = out.state!;
  }
  assert.deepEqual(state, { ticks: 3, seen: [10, 20, 30] });
  // A state restored from elsewhere (a new object) replaces the VM's copy.
  const out = ok(policy.evaluate(contextFor({ cpu: 1, replicas: 2 }, { state: { ticks: 100 } })));
  assert.deepEqual(out.state, { ticks: 101, seen: [1] });
  policy.close();
});

test('a failed call does not keep its half-written state', async () => {
  const policy = await loadLuaPolicy({
    source:
      'function decide(ctx)\n  ctx.state.n = (ctx.state.n or 0) + 1\n  if ctx.cpu > 50 then error("boom") end\n  return 1\nend',
    chunkName: 'half.lua',
  });
  const first = ok(policy.evaluate(contextFor({ cpu: 10 })));
  assert.deepEqual(first.state, { n: 1 });
  const failed = policy.evaluate(contextFor({ cpu: 90 }, { state: first.state! }));
  assert.equal(failed.ok, false);
  const again = ok(policy.evaluate(contextFor({ cpu: 10 }, { state: first.state! })));
  assert.deepEqual(again.state, { n: 2 });
  policy.close();
});

test('ctx.history returns the window oldest first and ctx.forecast follows a linear trend', async () => {
  const policy = await loadLuaPolicy({
    source: [
      'function decide(ctx)',
      '  local h = ctx.history("rps", 5)',
      '  log(table.concat(h, ","))',
      '  log(string.format("%.1f", ctx.forecast("rps", 60)))',
      '  log(string.format("%.1f", get_metric("rps", 10)))',
      '  return #h',
      'end',
    ].join('\n'),
    chunkName: 'hist.lua',
  });
  // rps grows by 2 per second: 100, 102, ...
  const history = fakeHistory((_, i) => 100 + 2 * i);
  const out = ok(policy.evaluate(contextFor({ rps: 0 }, { history })));
  assert.equal(out.replicas, 5);
  assert.equal(out.logs[0], '100.0,102.0,104.0,106.0,108.0');
  const forecast = Number(out.logs[1]);
  // The last of 600 points is 1298; 60 s ahead on the undamped trend is 1418. The damped trend
  // (φ = 0.98, src/metrics/forecast.ts) lands in between, well above the last value.
  assert.ok(forecast > 1330 && forecast <= 1419, `forecast ${forecast}`);
  assert.equal(out.logs[2], '109.0');
  policy.close();
});

test('a syntax error names file:line and is a LuascaleError', async () => {
  await assert.rejects(
    loadLuaPolicy({ source: 'local x = 1\nif x then\n  return 2\n', chunkName: 'policies/broken.lua' }),
    (err: unknown) =>
      isLuascaleError(err, 'LS_ERR_POLICY_SYNTAX') &&
      /^policies\/broken\.lua:4: syntax error: 'end' expected/.test((err as Error).message),
  );
});

test('a missing file is LS_ERR_POLICY_NOT_FOUND', async () => {
  await assert.rejects(loadLuaPolicy({ file: 'no/such/policy.lua' }), (err: unknown) =>
    isLuascaleError(err, 'LS_ERR_POLICY_NOT_FOUND'),
  );
});

test('a runtime error names the file and line and the next call runs again', async () => {
  const policy = await loadLuaPolicy({
    source:
      'function decide(ctx)\n  if ctx.cpu > 50 then\n    local t = nil\n    return t.x\n  end\n  return 2\nend',
    chunkName: 'policies/cpu.lua',
  });
  const bad = policy.evaluate(contextFor({ cpu: 90 }));
  assert.equal(bad.ok, false);
  assert.equal(!bad.ok && bad.code, 'LS_ERR_POLICY_RUNTIME');
  assert.match(
    !bad.ok ? bad.error : '',
    /^policies\/cpu\.lua:4: attempt to index a nil value \(local 't'\)$/,
  );
  assert.equal(ok(policy.evaluate(contextFor({ cpu: 10 }))).replicas, 2);
  policy.close();
});

test('logs written before an error come back with the error', async () => {
  const policy = await loadLuaPolicy({ source: 'log("before")\nerror("after")', chunkName: 'e.lua' });
  const out = policy.evaluate(contextFor({}));
  assert.equal(out.ok, false);
  assert.deepEqual(out.logs, ['before']);
  assert.match(!out.ok ? out.error : '', /^e\.lua:2: after$/);
  policy.close();
});

test('a fractional result rounds up, as the HPA does', async () => {
  const policy = await loadLuaPolicy({ source: 'return 2.2', chunkName: 'f.lua' });
  const out = ok(policy.evaluate(contextFor({})));
  assert.equal(out.replicas, 3);
  assert.equal(out.raw, 2.2);
  policy.close();
});

test('pcall, coroutines and the allowed os functions work for honest policies', async () => {
  const policy = await loadLuaPolicy({
    source: [
      'local ok, err = pcall(error, "x", 0)',
      'local gen = coroutine.wrap(function() for i = 1, 3 do coroutine.yield(i) end end)',
      'local sum = gen() + gen() + gen()',
      'assert(type(os.time()) == "number" and type(os.clock()) == "number" and type(os.date("%Y")) == "string")',
      'assert(collectgarbage("count") > 0)',
      'return sum + (ok and 100 or 0)',
    ].join('\n'),
    chunkName: 'honest.lua',
  });
  assert.equal(ok(policy.evaluate(contextFor({}))).replicas, 6);
  policy.close();
});

test('isModuleStyle: decide definitions count, comments and comparisons do not', () => {
  assert.equal(isModuleStyle('function decide(ctx) return 1 end'), true);
  assert.equal(isModuleStyle('local M = {}\nfunction M.decide(ctx) end\nreturn M'), true);
  assert.equal(isModuleStyle('return { decide = function(ctx) return 1 end }'), true);
  assert.equal(isModuleStyle('-- function decide(ctx)\nscale_up_instances()'), false);
  assert.equal(isModuleStyle('--[[ decide = 1 ]] set_replicas(2)'), false);
  assert.equal(isModuleStyle('if decide == nil then set_replicas(1) end'), false);
  assert.equal(isModuleStyle('log("function decide(ctx)")\nscale_up_instances()'), false);
  assert.equal(isModuleStyle('log([[decide = function]])'), false);
  assert.equal(isModuleStyle('local function decide(ctx) return 1 end\nreturn { decide = decide }'), true);
  assert.equal(isModuleStyle('decide = function(ctx) return 2 end'), true);
});

test('every example policy loads and answers a sample context', async () => {
  const { readdirSync } = await import('node:fs');
  const files = readdirSync('examples/policies').filter((f) => f.endsWith('.lua'));
  assert.ok(files.length >= 5);
  // Nothing started in the last seconds; the queue grows.
  const history = fakeHistory((metric, i) => (metric === 'starting' ? 0 : 100 + i));
  const expected: Record<string, number> = {
    'seed-cpu.lua': 3, // cpu 85 > 80: one more
    'target-cpu.lua': 3, // ceil(2 × 85 / 60)
    'latency-slo.lua': 3, // p95 300 > SLO 250, none starting, queue not draining: ready + 1
    'forecast-rps.lua': 15, // rps forecast ~720 ahead / 50 per instance
    'queue-script.lua': 4, // queue 30 > 10 × 2: +2
  };
  for (const file of files) {
    const policy = await loadLuaPolicy({ file: `examples/policies/${file}` });
    const out = policy.evaluate(
      contextFor(
        {
          cpu: 85,
          replicas: 2,
          rps: 400,
          queue: 30,
          latency: { p50: 100, p95: 300, p99: 500 },
          slo: { latency_p95_ms: 250 },
        },
        { history },
      ),
    );
    assert.ok(out.ok, `${file}: ${JSON.stringify(out)}`);
    if (file in expected) assert.equal(out.replicas, expected[file], `${file}: ${JSON.stringify(out)}`);
    policy.close();
  }
});
