/** `luascale eval`: the input checked against the observation schema, --steps, --json (issue 18 items 9, 13). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../helpers/run-cli.js';
import { SIGNALS } from '../../src/signals/index.js';
import {
  EVAL_INPUT_SCHEMA,
  validateObservationInput,
  type KeySchema,
} from '../../src/controller/observation-schema.js';

const dir = mkdtempSync(join(tmpdir(), 'ls-eval-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));
const SEED = 'examples/policies/seed-cpu.lua';

test('item 9: a typo, a wrong type or counts that disagree are refused (exit 2), never read as 0', async () => {
  const cases: Array<[string, RegExp]> = [
    ['{"cpu_usage":85}', /^error: --input cpu_usage: unknown key; did you mean "cpu"\? \(known: cpu, /],
    ['{"cpu":"85"}', /^error: --input cpu: must be a number, got "85" \(a string: drop the quotes\)/],
    ['{"rsp":10}', /did you mean "rps"\?/],
    ['{"latency_p95":300}', /did you mean "latency\.p95" \(\{"latency":\{"p95":0\}\}\)\?/],
    [
      '{"latency":{"p999":1}}',
      /^error: --input latency\.p999: unknown key; did you mean "p99"\? \(known: p50, p95, p99\)/,
    ],
    ['{"replicas":2,"ready":3}', /^error: --input ready: must be <= replicas \(2/],
    [
      '{"replicas":2,"ready":1,"starting":2}',
      /^error: --input replicas: must equal ready \+ starting \(1 \+ 2\), got 2/,
    ],
    ['{"ready":1.5}', /^error: --input ready: must be a whole number >= 0, got 1\.5/],
    ['{"error_rate":5}', /^error: --input error_rate: must be <= 1, got 5/],
    ['{"min":5,"max":2}', /^error: --input min: must be <= max \(2\), got 5/],
  ];
  for (const [input, re] of cases) {
    const r = await runCli('eval', SEED, '--input', input);
    assert.equal(r.code, 2, `${input}: ${r.stderr}`);
    assert.match(r.stderr, re, input);
  }
  // A valid input still decides; ready + starting make replicas when it is left out.
  const ok = await runCli('eval', SEED, '--input', '{"cpu":85,"ready":2,"starting":1}', '--json');
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal(JSON.parse(ok.stdout).current, 3);
});

test('the schema has every catalogue signal, and documents every key', () => {
  const props = EVAL_INPUT_SCHEMA.properties!;
  for (const s of SIGNALS) {
    // `llm.ttft.p50` is ctx.llm.ttft.p50: walk every part of the name.
    const [head, ...rest] = s.name.split('.');
    const key = rest.reduce<KeySchema | undefined>((k, part) => k?.properties?.[part], props[head!]);
    assert.ok(key, `${s.name} missing from the schema`);
    assert.equal(key.type, s.kind === 'fleet' ? 'integer' : 'number', s.name);
  }
  const doc = readFileSync('docs/eval-input.md', 'utf8');
  for (const k of [
    'cpu',
    'latency.p95',
    'slo.latency_p95_ms',
    'operations.<name>.rps',
    'state',
    'now',
    'min',
    'max',
  ])
    assert.ok(doc.includes(`| \`${k}\` |`), `docs/eval-input.md lacks ${k}`);
  assert.doesNotThrow(() =>
    validateObservationInput({ operations: { getUser: { rps: 3, latency: { p95: 9 } } } }, 'x'),
  );
});

test('item 13: eval without bounds uses the config defaults (min 1, max 10), not 0 and max(10, replicas)', async () => {
  const low = await runCli('eval', SEED, '--input', '{"cpu":10,"replicas":1}', '--json');
  assert.equal(JSON.parse(low.stdout).replicas, 1); // the seed asks for 0; min 1 holds
  const high = await runCli('eval', SEED, '--input', '{"cpu":95,"replicas":10}', '--json');
  assert.equal(JSON.parse(high.stdout).replicas, 10); // asks 11; max 10
});

test('eval --json carries the error code of a failed policy, and warns at 80 % of a ctx.state bound', async () => {
  const bad = join(dir, 'bad.lua');
  writeFileSync(bad, 'function decide(ctx) return ctx.params.nope.x end\n');
  const r = await runCli('eval', bad, '--input', '{"cpu":50}', '--json');
  assert.equal(r.code, 1);
  assert.equal(JSON.parse(r.stdout).code, 'LS_ERR_POLICY_RUNTIME');
  const big = join(dir, 'big.lua');
  writeFileSync(
    big,
    'function decide(ctx)\n  for i = 1, 8500 do ctx.state["k" .. i] = i end\n  return ctx.replicas\nend\n',
  );
  const w = await runCli('eval', big, '--input', '{"cpu":50}', '--json');
  assert.equal(w.code, 0, w.stderr);
  assert.deepEqual(JSON.parse(w.stdout).warnings, [
    'ctx.state: 8,500 entries, 85 % of the 10,000 allowed (beyond, calls fail with LS_ERR_POLICY_STATE)',
  ]);
});

test('eval --steps carries ctx.state, history and the scale-down window from line to line', async () => {
  const policy = join(dir, 'steps.lua');
  writeFileSync(
    policy,
    [
      'function decide(ctx)',
      '  ctx.state.n = (ctx.state.n or 0) + 1',
      '  log("history " .. #ctx.history("cpu", 60))',
      '  if ctx.cpu < 20 then return ctx.ready - 1 end',
      '  return ctx.replicas',
      'end',
      '',
    ].join('\n'),
  );
  const steps = join(dir, 'ticks.jsonl');
  writeFileSync(
    steps,
    [
      '{"cpu":50,"replicas":3,"now":1000000,"state":{"n":10}}',
      '{"cpu":10,"replicas":3}',
      '{"cpu":10,"replicas":3,"now":1400000}',
      '',
    ].join('\n'),
  );
  const r = await runCli('eval', policy, '--steps', steps, '--json');
  assert.equal(r.code, 0, r.stderr);
  const out = r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  assert.deepEqual(
    out.map((o) => o.state.n),
    [11, 12, 13],
  );
  assert.deepEqual(
    out.map((o) => o.at),
    [1_000_000, 1_001_000, 1_400_000],
  );
  assert.deepEqual(
    out.map((o) => o.logs[0]),
    ['history 1', 'history 2', 'history 60'],
  );
  // Step 2 asks for 2 within 300 s of step 1's 3: held. Step 3, 399 s later, goes through.
  assert.deepEqual(
    out.map((o) => [o.reason, o.replicas]),
    [
      ['NoChange', 3],
      ['ScaleDownStabilized', 3],
      ['ScaleDown', 2],
    ],
  );
  const text = await runCli('eval', policy, '--steps', steps);
  assert.match(text.stdout, /# step 2 \(.*ticks\.jsonl:2\)\nat +1970-01-01T00:16:41\.000Z/);
  assert.match(text.stdout, /state +\{"n":12\}/);
  const bad = join(dir, 'bad.jsonl');
  writeFileSync(bad, '{"cpu":1}\n{"cpu":"x"}\n');
  const e = await runCli('eval', policy, '--steps', bad);
  assert.equal(e.code, 1);
  assert.match(e.stderr, /bad\.jsonl:2\/cpu: must be a number, got "x"/);
});

test("eval -c luascale.yaml --service S runs the service's policy with its bounds, SLO and behaviour", async () => {
  writeFileSync(join(dir, 'slo.lua'), 'function decide(ctx)\n  return ctx.slo.latency_p95_ms / 10\nend\n');
  writeFileSync(
    join(dir, 'c.yaml'),
    `services:
  web:
    provider: { static: { targets: ["http://127.0.0.1:1"] } }
    scaling:
      min: 2
      max: 15
      policy: ./slo.lua
      slo: { latency_p95_ms: 120 }
      behavior: { tolerance: 0 }
`,
  );
  const r = await runCli(
    'eval',
    '-c',
    join(dir, 'c.yaml'),
    '--service',
    'web',
    '--input',
    '{"replicas":11}',
    '--json',
  );
  assert.equal(r.code, 0, r.stderr);
  const o = JSON.parse(r.stdout);
  assert.equal(o.recommended, 12); // ctx.slo from the config
  assert.equal(o.replicas, 12); // within max 15 (the default max 10 would clamp), no tolerance band
  const none = await runCli('eval', '-c', join(dir, 'c.yaml'), '--service', 'nope', '--input', '{}');
  assert.equal(none.code, 2);
  assert.match(none.stderr, /--service: no service "nope" in .*c\.yaml \(services: web\)/);
});
