/**
 * What `luascale simulate` explains (issue 18): the decisions' reasons, the scale-downs the window
 * held, the policy's errors, `--decisions`, `--behavior` / `--slo` without a YAML file, the
 * history a policy asks for (item 13) and ctx.state near its bounds.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultBehavior } from '../../src/controller/decide.js';
import { loadPolicy } from '../../src/controller/load-policy.js';
import type { Policy } from '../../src/policy/policy.js';
import { simulate, type Trace } from '../../src/simulator/index.js';
import { runSimulate } from '../../src/cli/commands/simulate.js';

const dir = mkdtempSync(join(tmpdir(), 'ls-explain-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

function steady(seconds: number, rps = 100): Trace {
  return {
    file: 'steady.csv',
    t: Float64Array.of(0),
    rps: Float64Array.of(rps),
    stepSeconds: seconds,
    durationSeconds: seconds,
    gaps: [],
  };
}

function write(name: string, text: string): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

/** The pattern: "hold" every tick, "−1" now and then. */
const HOLD_MINUS_ONE =
  'function decide(ctx)\n  if ctx.now % 60000 == 0 then return ctx.replicas - 1 end\n  return ctx.replicas\nend\n';

test("the table is followed by each policy's reasons, the held scale-downs, a note on the hold/−1 pattern and the errors", async () => {
  const trace = write(
    'steady.csv',
    't,rps\n0,100\n60,100\n120,100\n180,100\n240,100\n300,100\n360,100\n420,100\n480,100\n540,100\n',
  );
  const hold = write('hold.lua', HOLD_MINUS_ONE);
  const failing = write(
    'failing.lua',
    'function decide(ctx)\n  if ctx.now % 7000 == 0 then error("boom") end\n  if ctx.now % 11000 == 0 then return ctx.params.x.y end\n  return ctx.replicas\nend\n',
  );
  const out: string[] = [];
  await runSimulate(
    { trace, set: [], policy: hold, compare: failing, initial: '4', progress: false },
    { out: (s) => out.push(s), err: () => {}, tty: false },
  );
  const text = out.join('');
  const [table, ...rest] = text.split('\n\n');
  assert.match(table!, /^policy errors\s+0\s+132$/m);
  const explain = rest.join('\n\n');
  assert.match(explain, /hold\.lua:\n {2}decisions by reason: NoChange 590, ScaleDownStabilized 10\n/);
  assert.match(explain, /the decision core: 10 scale-downs held by the stabilization window/);
  assert.match(explain, /0 ended in a scale-down, 9 were abandoned/);
  assert.match(explain, /note: this policy asked to scale in but never did/);
  assert.match(
    explain,
    /policy errors: 132 \(2 distinct\); first at second 6: .*failing\.lua:2: boom \(LS_ERR_POLICY_RUNTIME\)/,
  );
  assert.match(explain, / {4}85× .*failing\.lua:2: boom \(LS_ERR_POLICY_RUNTIME, first at second 6\)/);
  assert.match(explain, / {4}47× .*failing\.lua:3: .*nil.*first at second 10\)/);
});

test('--decisions writes every decision with its inputs, steps, logs and alerts; --behavior and --slo set them without a YAML file', async () => {
  const trace = write('steady2.csv', 't,rps\n0,100\n60,100\n');
  const policy = write(
    'logs.lua',
    'function decide(ctx)\n  log("slo " .. ctx.slo.latency_p95_ms .. " " .. ctx.slo.error_rate)\n  alert("info", "tick")\n  return ctx.replicas - 1\nend\n',
  );
  const file = join(dir, 'decisions.jsonl');
  await runSimulate(
    {
      trace,
      set: [],
      policy,
      initial: '3',
      decisions: file,
      behavior: '{"scale_down":{"stabilization":"10s"}}',
      slo: '{"latency_p95_ms":200,"error_rate":0.01}',
      progress: false,
      json: true,
    },
    { out: () => {}, err: () => {}, tty: false },
  );
  const lines = readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  assert.equal(lines.length, 120);
  assert.equal(lines[0].run, policy);
  assert.equal(lines[0].second, 0);
  assert.match(lines[0].policy.outcome.logs[0], /^slo 200(\.0)? 0\.01$/);
  assert.deepEqual(lines[0].policy.outcome.alerts, [{ severity: 'info', message: 'tick' }]);
  assert.equal(lines[0].inputs.slo.error_rate, 0.01);
  // The 10 s window (not the default 300 s) lets a scale-down through every 10 s.
  const downs = lines.flatMap((d, i) => (d.replicas < d.current ? [i] : []));
  assert.deepEqual(downs, [0, 10]);
  await assert.rejects(
    runSimulate(
      { trace, set: [], policy, behavior: '{"scale_down":{"stabilisation":"10s"}}' },
      { out: () => {}, err: () => {}, tty: false },
    ),
    /--behavior: scale_down\.stabilisation: unknown property "stabilisation" \(did you mean "stabilization"\?\)/,
  );
});

test('item 13: the history keeps what the policy reads (two days for a daily season), not one day', () => {
  // A policy that reads two days, as a Holt-Winters forecast with a daily season does (the
  // forecast reads the history on the host; a Lua table from ctx.history is capped at 100,000 points).
  const lengths: number[] = [];
  const policy: Policy = {
    name: 'two-days',
    evaluate(ctx) {
      lengths.push(ctx.history.series('rps', 2 * 86_400, ctx.now).length);
      return { ok: true, replicas: ctx.observation.replicas, raw: null, logs: [], alerts: [] };
    },
  };
  simulate({
    trace: steady(3 * 86_400),
    policy: {
      label: 'two-days',
      policy,
      params: {},
      intervalMs: 3_600_000,
      behavior: defaultBehavior(),
      min: 1,
      max: 10,
    },
    seriesPoints: 0,
  });
  assert.equal(lengths.at(-1), 2 * 86_400);
  assert.equal(lengths[0], 3600);
});

test('a simulation warns when ctx.state reaches 80 % of a bound', async () => {
  const policy = await loadPolicy({
    source:
      'function decide(ctx)\n  local n = (ctx.state.n or 0) + 1000\n  ctx.state.n = n\n  for i = n - 999, math.min(n, 8500) do ctx.state["k" .. i] = i end\n  return ctx.replicas\nend\n',
    name: 'grow.lua',
  });
  try {
    const r = simulate({
      trace: steady(150),
      policy: {
        label: 'grow',
        policy,
        params: {},
        intervalMs: 1000,
        behavior: defaultBehavior(),
        min: 1,
        max: 10,
      },
      seriesPoints: 0,
    });
    assert.equal(r.warnings.length, 1, r.warnings.join('\n'));
    assert.match(
      r.warnings[0]!,
      /^ctx\.state: 8,501 entries, 85 % of the 10,000 allowed .*first at second 100$/,
    );
  } finally {
    policy.close?.();
  }
});
