import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { runSimulate } from '../../src/cli/commands/simulate.js';
import { shared } from '../helpers/shared.js';
import { runCli } from '../helpers/run-cli.js';

const fixtures = join(import.meta.dirname, 'fixtures');
const SUMMARY_FIELDS = [
  'policy',
  'instance_seconds',
  'instance_hours',
  'slo_violation_seconds',
  'dropped_requests',
  'total_requests',
  'p95_ms',
  'scale_actions',
  'max_replicas',
  'mean_utilization',
  'ideal_instance_hours',
  'under_provisioning_accuracy',
  'over_provisioning_accuracy',
  'under_provisioning_timeshare',
  'over_provisioning_timeshare',
];

function cli(args: string[]) {
  return spawnSync(process.execPath, ['--import', 'tsx', join(fixtures, 'run-cli.ts'), ...args], {
    encoding: 'utf8',
    timeout: 60_000,
  });
}

/**
 * Runs main() in this process, capturing what it writes in the CLI's own async context (runCli):
 * `simulate` loads its implementation when it runs, and the test runner's reports written meanwhile
 * must not land in the output.
 */
async function inProcess(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const r = await runCli(...args);
  return { code: r.code, out: r.stdout, err: r.stderr };
}

test('luascale simulate --json prints one object with every issue field (child process)', () => {
  const r = cli([
    'simulate',
    '--trace',
    join(fixtures, 'small.csv'),
    '--scale',
    '10',
    '--policy',
    'builtin:hpa',
    '--capacity',
    '100',
    '--startup',
    '30',
    '--slo-p95-ms',
    '250',
    '--json',
  ]);
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.equal(lines.length, 1);
  const o = JSON.parse(lines[0]!);
  for (const f of SUMMARY_FIELDS) assert.ok(f in o, `missing ${f}`);
  assert.equal(o.policy, 'builtin:hpa');
  assert.equal(o.total_requests, (10 + 20 + 30) * 60 * 10);
  assert.equal(o.instance_hours, Math.round((o.instance_seconds / 3600) * 1e4) / 1e4);
});

test('a bad trace exits 1 with one line naming the file and row (child process)', () => {
  const r = cli(['simulate', '--trace', join(fixtures, 'bad-value.csv'), '--policy', 'builtin:hpa']);
  assert.equal(r.status, 1);
  assert.equal(r.stdout, '');
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  assert.match(r.stderr, /bad-value\.csv:3: rps is not a number: "x"/);
});

test('every kind of bad trace is one line naming the file and row, exit 1', async () => {
  const cases: Array<[string, RegExp]> = [
    ['bad-header.csv', /bad-header\.csv:1: missing header/],
    ['empty.csv', /empty\.csv:1: empty file/],
    ['bad-order.csv', /bad-order\.csv:4: t must increase: 30 follows 60/],
    ['bad-negative.csv', /bad-negative\.csv:2: t must be >= 0/],
    ['no-such-file.csv', /no-such-file\.csv: trace file not found/],
  ];
  for (const [file, re] of cases) {
    const r = await inProcess(['simulate', '--trace', join(fixtures, file), '--policy', 'builtin:hpa']);
    assert.equal(r.code, 1, file);
    assert.match(r.err, re);
    assert.equal(r.err.trim().split('\n').length, 1);
    assert.ok(!r.err.includes('    at '), 'no stack trace');
  }
});

test('bad flag values are one-line usage errors (2); a missing policy file is 1', async () => {
  const trace = join(fixtures, 'small.csv');
  const cases: Array<[string[], RegExp]> = [
    [['--policy', 'builtin:hpa', '--capacity', 'lots'], /--capacity: expected a number, got "lots"/],
    [['--policy', 'builtin:hpa', '--scale', '0'], /--scale: must be > 0/],
    [['--policy', 'builtin:hpa', '--min', '5', '--max', '2'], /--min: must be <= --max \(2\), got 5/],
    [['--policy', 'builtin:hpa', '--interval', 'soon'], /--interval: expected a duration/],
    [[], /give --policy/],
    [['--policy', 'builtin:nope'], /unknown built-in policy "nope"/],
    [['--policy', 'builtin:hpa', '--set', 'oops'], /--set: expected key=value/],
    [['--compare', 'builtin:hpa,builtin:kpa', '--set', 'target=50'], /--set: applies to --policy/],
    [['--compare', 'builtin:hpa,builtin:nope'], /^error: --compare: unknown built-in policy "nope"/],
    [['--policy', 'builtin:hpa?target'], /^error: --policy: builtin:hpa\?target: expected key=value/],
    [['--policy', 'builtin:hpa?target=-1'], /^error: --policy: builtin:hpa: bad params: target/],
    [['--policy', 'builtin:hpa', '--start', 'someday'], /--start: expected an ISO date/],
    [['-c', 'luascale.yaml'], /-c\/--config: needs --service NAME/],
  ];
  for (const [args, re] of cases) {
    const r = await inProcess(['simulate', '--trace', trace, ...args]);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.err}`);
    assert.match(r.err, re);
    assert.equal(r.err.trim().split('\n').length, 1, r.err);
  }
  // A bad value is reported before the trace is read, so a missing trace does not hide it.
  const first = await inProcess(['simulate', '--trace', '/nonexistent.csv', '--scale', 'x']);
  assert.equal(first.code, 2, first.err);
  // Files are not argument values: a policy file that does not exist stays a user error (1).
  const missing = await inProcess(['simulate', '--trace', trace, '--policy', 'missing.lua']);
  assert.equal(missing.code, 1, missing.err);
  assert.match(missing.err, /missing\.lua: policy file not found/);
});

test('--compare prints one JSON line per policy, and the table aligns one column per policy', async () => {
  const trace = join(fixtures, 'small.csv');
  const io = { out: '', err: '' };
  const sink = { out: (s: string) => (io.out += s), err: (s: string) => (io.err += s), tty: false };
  const summaries = await runSimulate(
    { trace, scale: '10', compare: 'builtin:hpa,builtin:kpa?target=50', set: [], json: true },
    sink,
  );
  const lines = io.out
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  assert.deepEqual(
    lines.map((l) => l.policy),
    ['builtin:hpa', 'builtin:kpa?target=50'],
  );
  assert.deepEqual(lines, summaries);
  io.out = '';
  await runSimulate(
    { trace, scale: '10', policy: 'builtin:target-tracking', compare: 'builtin:hpa', set: ['target=60'] },
    sink,
  );
  // The table, then (after a blank line) each policy's explanation.
  const rows = io.out.split('\n\n')[0]!.trim().split('\n');
  assert.match(io.out, /\n\nbuiltin:target-tracking:\n {2}decisions by reason: /);
  assert.match(rows[0]!, /small\.csv: 0\.00 days at 60 s, × 10; capacity 100 req\/s/);
  assert.match(rows[1]!, /builtin:target-tracking\s+builtin:hpa$/);
  const widths = new Set(rows.slice(1).map((r) => r.length));
  assert.ok(widths.size <= 2, 'rows are aligned'); // right-aligned columns: equal lengths (header may be shorter)
  assert.ok(rows.some((r) => r.startsWith('instance-hours')));
  assert.equal(io.err, '');
});

test(
  'the must-show command on the shared NASA trace prints the fields',
  { skip: !existsSync(shared('traces', 'nasa-1995-07-per-minute.csv')) && 'no ../shared/traces' },
  async () => {
    const r = await inProcess([
      'simulate',
      '--trace',
      shared('traces', 'nasa-1995-07-per-minute.csv'),
      '--scale',
      '300',
      '--policy',
      'builtin:hpa',
      '--capacity',
      '100',
      '--startup',
      '30',
      '--slo-p95-ms',
      '250',
      '--json',
    ]);
    assert.equal(r.code, 0, r.err);
    const o = JSON.parse(r.out);
    for (const f of SUMMARY_FIELDS) assert.ok(f in o, `missing ${f}`);
    assert.ok(o.max_replicas >= 15 && o.max_replicas <= 40, `peak ${o.max_replicas}`);
    assert.ok(o.instance_hours > o.ideal_instance_hours);
  },
);

test('-c luascale.yaml --service takes the policy, params, interval, bounds, startup and SLO from the config', async () => {
  const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const dir = mkdtempSync(join(tmpdir(), 'ls-simcfg-'));
  try {
    writeFileSync(join(dir, 'fixed.lua'), 'function decide(ctx)\n  return ctx.params.n\nend\n');
    writeFileSync(
      join(dir, 'luascale.yaml'),
      [
        'services:',
        '  web:',
        '    provider:',
        '      process: { command: ["node", "app.js"] }',
        '    scaling:',
        '      min: 2',
        '      max: 4',
        '      interval: 5s',
        '      startup: 10s',
        '      policy: ./fixed.lua',
        '      params: { n: 7 }',
        '      slo: { latency_p95_ms: 400 }',
        '',
      ].join('\n'),
    );
    const io = { out: '', err: '' };
    const sink = { out: (s: string) => (io.out += s), err: (s: string) => (io.err += s), tty: false };
    const [s] = await runSimulate(
      {
        trace: join(fixtures, 'small.csv'),
        config: join(dir, 'luascale.yaml'),
        service: 'web',
        set: [],
        json: true,
      },
      sink,
    );
    assert.equal(s!.policy, `web: ${join(dir, 'fixed.lua')}`);
    assert.equal(s!.decisions, 180 / 5);
    assert.equal(s!.max_replicas, 4); // the policy asks 7, max is 4
    await assert.rejects(
      runSimulate(
        { trace: join(fixtures, 'small.csv'), config: join(dir, 'luascale.yaml'), service: 'api', set: [] },
        sink,
      ),
      (err: unknown) =>
        (err as { code?: string }).code === 'LS_ERR_CLI_BAD_ARGUMENT' &&
        /^--service: no service "api" in .*luascale\.yaml \(services: web\)$/.test((err as Error).message),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
