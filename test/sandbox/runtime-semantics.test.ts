/**
 * Issue 18: the Lua runtime without silent surprises. One regression test per item: state keys
 * (2), read-only helpers and script globals (3), integer/float (4), strict ctx and unknown metric
 * names (5), style detection (6), pairs() order (7), UTC dates (8), fractional times and clean
 * errors (11), forecasts within the metric's range (12).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { loadLuaPolicy } from '../../src/sandbox/lua-policy.js';
import { isLuascaleError } from '../../src/core/errors.js';
import type { PolicyOutcome } from '../../src/policy/policy.js';
import { contextFor, fakeHistory } from './sandbox-fixtures.js';

function ok(outcome: PolicyOutcome): Extract<PolicyOutcome, { ok: true }> {
  assert.ok(outcome.ok, `expected ok, got ${JSON.stringify(outcome)}`);
  return outcome;
}

function failed(outcome: PolicyOutcome): Extract<PolicyOutcome, { ok: false }> {
  assert.ok(!outcome.ok, `expected a failure, got ${JSON.stringify(outcome)}`);
  return outcome;
}

test('item 2: ctx.state round-trips integer keys (through JSON too) and a top-level list grows', async () => {
  const policy = await loadLuaPolicy({
    source: [
      'function decide(ctx)',
      '  local s = ctx.state',
      '  s.peak_by_hour = s.peak_by_hour or {}',
      '  s.peak_by_hour[0] = (s.peak_by_hour[0] or 0) + 1',
      '  s.peak_by_hour[-3] = "neg"',
      '  table.insert(s, ctx.replicas)',
      '  log(#s .. " " .. tostring(s.peak_by_hour[0]) .. " " .. math.type(next(s.peak_by_hour)))',
      '  return 1',
      'end',
    ].join('\n'),
    chunkName: 'state.lua',
  });
  let state: Record<string, unknown> = {};
  const lines: string[] = [];
  for (let i = 0; i < 3; i++) {
    const out = ok(policy.evaluate(contextFor({ replicas: 2 + i }, { state })));
    lines.push(out.logs[0]!);
    state = JSON.parse(JSON.stringify(out.state)); // as the store keeps it
  }
  assert.deepEqual(lines, ['1 1 integer', '2 2 integer', '3 3 integer']);
  assert.deepEqual(state, { '1': 2, '2': 3, '3': 4, peak_by_hour: { '0': 3, '-3': 'neg' } });
  policy.close();
});

test('item 2: a state key that could not come back as it was is refused with LS_ERR_POLICY_STATE', async () => {
  for (const [body, why] of [
    [
      'ctx.state.by_code = { ["503"] = 1 }',
      /state\.by_code: the string key "503" would come back as the integer 503/,
    ],
    ['ctx.state[1.5] = true', /state: the key 1\.5 is not an integer/],
  ] as const) {
    const policy = await loadLuaPolicy({
      source: `function decide(ctx)\n  ${body}\n  return 1\nend`,
      chunkName: 'k.lua',
    });
    const out = failed(policy.evaluate(contextFor({})));
    assert.equal(out.code, 'LS_ERR_POLICY_STATE');
    assert.match(out.error, why);
    policy.close();
  }
});

test('item 3: assigning to a helper raises at the line; later ticks still work; script globals reset', async () => {
  const policy = await loadLuaPolicy({
    source: [
      'local cpu = get_cpu_usage()',
      'seen = (seen or 0) + 1 -- a global: gone by the next tick',
      'log("seen " .. seen)',
      'if cpu > 80 then',
      '  log = "scaled at " .. cpu -- a forgotten local',
      'end',
      'return 2',
    ].join('\n'),
    chunkName: 'forgot.lua',
  });
  const bad = failed(policy.evaluate(contextFor({ cpu: 90 })));
  assert.equal(bad.error, "forgot.lua:5: cannot assign to helper 'log' (a missing 'local'?)");
  for (let i = 0; i < 3; i++) assert.deepEqual(ok(policy.evaluate(contextFor({ cpu: 50 }))).logs, ['seen 1']);
  policy.close();
  const raw = await loadLuaPolicy({ source: 'rawset(_G, "string", 1)\nreturn 1', chunkName: 'raw.lua' });
  assert.match(
    failed(raw.evaluate(contextFor({}))).error,
    /^raw\.lua:1: rawset: cannot assign to helper 'string'/,
  );
  raw.close();
  // A module's own globals (decide, its helpers) persist.
  const mod = await loadLuaPolicy({
    source: 'calls = 0\nfunction decide(ctx) calls = calls + 1 return calls end',
    chunkName: 'mod.lua',
  });
  assert.equal(ok(mod.evaluate(contextFor({}))).replicas, 1);
  assert.equal(ok(mod.evaluate(contextFor({}))).replicas, 2);
  mod.close();
});

test('item 4: counts are integers, measurements floats even when whole, the same in eval as live', async () => {
  const policy = await loadLuaPolicy({
    source: [
      'function decide(ctx)',
      '  log(math.type(ctx.cpu) .. " " .. math.type(ctx.queue) .. " " .. math.type(ctx.latency.p95) .. " " .. math.type(get_metric("rps")))',
      '  log(math.type(ctx.replicas) .. " " .. math.type(ctx.ready) .. " " .. math.type(ctx.starting) .. " " .. math.type(ctx.min) .. " " .. math.type(ctx.max) .. " " .. math.type(ctx.now))',
      '  log(tostring(ctx.queue // 0) .. " " .. math.floor(ctx.cpu) .. " " .. math.type(ctx.history("replicas", 2)[1]) .. " " .. math.type(ctx.history("cpu", 2)[1]))',
      '  return ctx.replicas',
      'end',
    ].join('\n'),
    chunkName: 'types.lua',
  });
  for (const cpu of [85, 85.5]) {
    const out = ok(
      policy.evaluate(contextFor({ cpu, queue: 3, replicas: 2 }, { history: fakeHistory(() => 4) })),
    );
    assert.deepEqual(out.logs, [
      'float float float float',
      'integer integer integer integer integer integer',
      `inf ${Math.floor(cpu)} integer float`,
    ]);
  }
  policy.close();
});

test('item 4: the shipped examples run with fractional params', async () => {
  for (const file of ['target-cpu.lua', 'latency-slo.lua', 'forecast-rps.lua']) {
    const policy = await loadLuaPolicy({ file: `examples/policies/${file}` });
    const out = policy.evaluate(
      contextFor(
        { cpu: 95.5, replicas: 2, rps: 400.5, latency: { p50: 100, p95: 600.5, p99: 900 } },
        {
          params: {
            target: 62.5,
            latency_p95_ms: 250.5,
            max_cpu: 70.5,
            rps_per_instance: 50.5,
            lead_s: 30.5,
          },
        },
      ),
    );
    assert.ok(out.ok, `${file}: ${JSON.stringify(out)}`);
    policy.close();
  }
});

test('item 5: ctx and its tables are strict; unknown metric names are reported once with the known names', async () => {
  const policy = await loadLuaPolicy({
    source: [
      'function decide(ctx)',
      '  local h = ctx.history("rsp", 60)',
      '  local f = ctx.forecast("rqs", 60)',
      '  local m = get_metric("latncy.p95")',
      '  if ctx.cpu > 90 then return ctx.latency.p999 end',
      '  if ctx.cpu > 80 then return ctx.replicaz end',
      '  return #h + (f or 0) + (m or 0) + 1',
      'end',
    ].join('\n'),
    chunkName: 'typo.lua',
  });
  const first = ok(policy.evaluate(contextFor({ cpu: 50 })));
  assert.equal(first.logs.length, 3);
  assert.match(
    first.logs[0]!,
    /^typo\.lua:2: ctx\.history\("rsp"\): unknown metric \(known: cpu, memory, rps, .*latency\.p95.*\); reported once$/,
  );
  assert.match(first.logs[1]!, /^typo\.lua:3: ctx\.forecast\("rqs"\): unknown metric/);
  assert.match(first.logs[2]!, /^typo\.lua:4: get_metric\("latncy\.p95"\): unknown metric/);
  assert.deepEqual(ok(policy.evaluate(contextFor({ cpu: 50 }))).logs, []); // once
  assert.equal(
    failed(policy.evaluate(contextFor({ cpu: 95 }))).error,
    "typo.lua:5: ctx.latency has no field 'p999' (p50, p95, p99)",
  );
  assert.match(
    failed(policy.evaluate(contextFor({ cpu: 85 }))).error,
    /^typo\.lua:6: ctx has no field 'replicaz' \(cpu, error_rate, .*replicas.*\)$/,
  );
  // params, slo and state stay plain tables: a missing param is nil.
  const plain = await loadLuaPolicy({
    source:
      'function decide(ctx) return (ctx.params.target or 3) + (ctx.slo.latency_p95_ms or 0) + (ctx.state.x or 0) end',
  });
  assert.equal(ok(plain.evaluate(contextFor({}))).replicas, 3);
  plain.close();
  policy.close();
});

test('item 6: style detection says what it found; a local decide without an export is refused', async () => {
  await assert.rejects(
    loadLuaPolicy({
      source: '-- a module\nlocal function decide(ctx)\n  return 3\nend\n',
      chunkName: 'local.lua',
    }),
    (err: unknown) =>
      isLuascaleError(err) &&
      err.code === 'LS_ERR_POLICY_RUNTIME' &&
      /^local\.lua:2: defines a local function decide but does not export it/.test(err.message),
  );
  // A variable named decide, and the words in a string: a script, which runs every tick.
  const script = await loadLuaPolicy({
    source:
      'local decide = get_cpu_usage() > 80\nlog("function decide(ctx) is not here")\nif decide then scale_up_instances() end',
    chunkName: 's.lua',
  });
  assert.equal(script.style, 'script');
  assert.match(script.styleReason, /^script: /);
  const out = ok(script.evaluate(contextFor({ cpu: 90, replicas: 2 })));
  assert.equal(out.replicas, 3);
  assert.deepEqual(out.logs, ['function decide(ctx) is not here']);
  script.close();
  const exported = await loadLuaPolicy({
    source: 'local function decide(ctx) return 4 end\nreturn { decide = decide }',
  });
  assert.equal(exported.style, 'module');
  assert.equal(exported.styleReason, 'module: the table it returns has a decide function');
  assert.equal(ok(exported.evaluate(contextFor({}))).replicas, 4);
  exported.close();
});

// A policy that walks a map with string keys: its answer depends on pairs() order.
const MAP_WALKER = [
  'function decide(ctx)',
  '  local weights = { web = 1, api = 2, batch = 3, search = 4, auth = 5, media = 6, feed = 7, chat = 8 }',
  '  local order, acc = {}, 0',
  '  for k, w in pairs(weights) do order[#order + 1] = k; acc = acc * 3 + w end',
  '  log(table.concat(order, ","))',
  '  return acc % 7 + math.random(1, 3)',
  'end',
].join('\n');

test('item 7: pairs() order and math.random repeat across fresh states and processes', async () => {
  const runs: string[] = [];
  for (let i = 0; i < 3; i++) {
    // Other states in between change the heap addresses Lua seeds its hash from.
    const filler = await loadLuaPolicy({ source: 'return 1' });
    const policy = await loadLuaPolicy({ source: MAP_WALKER, chunkName: 'map.lua' });
    const out = ok(policy.evaluate(contextFor({})));
    runs.push(`${out.logs[0]} ${out.replicas}`);
    policy.close();
    if (i === 1) filler.close();
  }
  assert.equal(new Set(runs).size, 1, runs.join('\n'));
  const child = () =>
    spawnSync(
      process.execPath,
      [
        '--import',
        'tsx',
        '-e',
        `const { loadLuaPolicy } = await import('./src/sandbox/lua-policy.ts');
         const { contextFor } = await import('./test/sandbox/sandbox-fixtures.ts');
         const p = await loadLuaPolicy({ source: ${JSON.stringify(MAP_WALKER)} });
         const o = p.evaluate(contextFor({}));
         console.log(o.logs[0] + ' ' + o.replicas);`,
      ],
      { encoding: 'utf8' },
    );
  const a = child();
  const b = child();
  assert.equal(a.status, 0, a.stderr);
  assert.equal(a.stdout.trim(), runs[0]);
  assert.equal(b.stdout.trim(), runs[0]);
});

test('item 8: os.date and os.time are UTC whatever the host time zone', () => {
  const source = [
    'local t = os.date("*t", 0)',
    'log(t.hour .. ":" .. t.min .. " " .. os.date("%H:%M %Y-%m-%d", 0) .. " " .. os.date("%H"))',
    'log(os.time({ year = 2024, month = 3, day = 1, hour = 0 }) .. " " .. os.time({ year = 2023, month = 15, day = 1, hour = 0 }))',
    'log(os.time(os.date("*t", 1700000000)))',
    'return 1',
  ].join('\n');
  const run = (tz: string) =>
    spawnSync(
      process.execPath,
      [
        '--import',
        'tsx',
        '-e',
        `const { loadLuaPolicy } = await import('./src/sandbox/lua-policy.ts');
         const { contextFor } = await import('./test/sandbox/sandbox-fixtures.ts');
         const p = await loadLuaPolicy({ source: ${JSON.stringify(source)} });
         console.log(JSON.stringify(p.evaluate(contextFor({}, { now: 1_700_000_000_000 })).logs));`,
      ],
      { encoding: 'utf8', env: { ...process.env, TZ: tz } },
    );
  const expected = ['0:0 00:00 1970-01-01 22', '1709251200 1709251200', '1700000000'];
  for (const tz of ['Pacific/Chatham', 'America/Los_Angeles']) {
    const out = run(tz);
    assert.equal(out.status, 0, out.stderr);
    assert.deepEqual(JSON.parse(out.stdout), expected, tz);
  }
});

test('item 11: fractional seconds work in os.date; errors name the policy line, not the sandbox', async () => {
  const policy = await loadLuaPolicy({
    source: [
      'function decide(ctx)',
      '  log(os.date("%H:%M:%S", ctx.now / 1000))',
      '  if ctx.cpu > 50 then log(os.date("%Q", ctx.now / 1000)) end',
      '  if ctx.cpu > 40 then coroutine.resume(1) end',
      '  return 1',
      'end',
    ].join('\n'),
    chunkName: 'dates.lua',
  });
  const now = 1_700_000_000_500; // fractional seconds
  assert.deepEqual(ok(policy.evaluate(contextFor({ cpu: 10 }, { now }))).logs, ['22:13:20']);
  const bad = failed(policy.evaluate(contextFor({ cpu: 60 }, { now })));
  assert.equal(bad.error, "dates.lua:3: bad argument #1 to 'os.date' (invalid conversion specifier '%Q')");
  const co = failed(policy.evaluate(contextFor({ cpu: 45 }, { now })));
  assert.equal(co.error, "dates.lua:4: bad argument #1 to 'coroutine.resume' (thread expected, got number)");
  policy.close();
});

test('item 12: ctx.forecast stays within the metric range (never negative; error_rate at most 1)', async () => {
  const policy = await loadLuaPolicy({
    source: [
      'function decide(ctx)',
      '  log(string.format("%g %g %g", ctx.forecast("rps", 600), ctx.forecast("error_rate", 600), ctx.forecast("custom_up", 600)))',
      '  return ctx.forecast("rps", 600)',
      'end',
    ].join('\n'),
    chunkName: 'fc.lua',
  });
  // rps falls 1 per second to 0; error_rate climbs towards 1; a custom metric climbs.
  const history = fakeHistory((metric, i) =>
    metric === 'rps' ? Math.max(0, 600 - i) : metric === 'error_rate' ? Math.min(0.99, i / 600) : i,
  );
  const out = ok(policy.evaluate(contextFor({ metrics: { custom_up: 1 } }, { history })));
  const [rps, errors, custom] = out.logs[0]!.split(' ').map(Number);
  assert.equal(rps, 0);
  assert.equal(out.replicas, 0);
  assert.ok(errors! <= 1, `error_rate forecast ${errors}`);
  assert.ok(custom! > 600, `custom forecast ${custom}`);
  policy.close();
});

test('item 7: two identical simulate runs of a map-walking policy give identical results', async () => {
  const { mkdtempSync, writeFileSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { parseTrace } = await import('../../src/simulator/trace.js');
  const { simulate } = await import('../../src/simulator/simulate.js');
  const { simulationPolicy } = await import('../../src/simulator/simulation-policy.js');
  const file = join(mkdtempSync(join(tmpdir(), 'ls-pairs-')), 'walker.lua');
  // Sizes for the first weight pairs() yields: the answer depends on the walk order.
  writeFileSync(
    file,
    [
      'function decide(ctx)',
      '  local per = { web = 40, api = 55, batch = 70, search = 85, auth = 100, media = 60, feed = 45 }',
      '  for _, v in pairs(per) do return math.ceil(ctx.rps / v) end',
      'end',
    ].join('\n'),
  );
  const trace = parseTrace('t,rps\n0,100\n300,600\n900,100\n1200,100\n', 'step.csv');
  const model = { capacity: 100, serviceMs: 50, startupS: 30, queueTimeoutS: 30, sloP95Ms: 250, drainS: 1 };
  const setup = { capacity: 100, serviceMs: 50, startupS: 30, min: 1, max: 50 };
  const runs: unknown[] = [];
  for (let i = 0; i < 3; i++) {
    const policy = await simulationPolicy(file, setup);
    runs.push(simulate({ trace, model, policy, seriesPoints: 0 }).summary);
  }
  assert.deepEqual(runs[1], runs[0]);
  assert.deepEqual(runs[2], runs[0]);
});
