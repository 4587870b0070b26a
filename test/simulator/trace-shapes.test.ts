/**
 * Request-rate traces in the shapes public trace files come in (trace-table.ts): other column
 * names and orders, comments, quotes, separators, gzip, ISO-8601 / epoch seconds / epoch ms, counts
 * per row, and the mistakes that must stay one-line errors naming the file and the line.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { spawnSync } from 'node:child_process';
import { parseTrace, readTrace } from '../../src/simulator/trace.js';
import { isLuascaleError } from '../../src/core/errors.js';
import { runCli } from '../helpers/run-cli.js';
import { runSimulate } from '../../src/cli/commands/simulate.js';

function error(text: string): string {
  try {
    parseTrace(text, 'x.csv');
  } catch (err) {
    assert.ok(isLuascaleError(err, 'LS_ERR_TRACE_INVALID'), String(err));
    assert.ok(!err.message.includes('\n'), 'one line');
    return err.message;
  }
  assert.fail(`expected an error for ${JSON.stringify(text)}`);
}

test('columns in another order, under other names, quoted, commented, tab- or space-separated', () => {
  for (const text of [
    'rps,t\n1,0\n2,60\n',
    '# exported from grafana\nTime,Rate\n0,1\n# a comment row\n60,2\n',
    '"timestamp","qps","host"\n"0","1","a"\n"60","2","b"\n',
    'time\trps\n0\t1\n60\t2\n',
    't rps\n0 1\n60   2\n',
    't;rps\r\n0;1\r\n60;2\r\n\r\n\r\n',
    't,rps\r0,1\r60,2\r',
  ]) {
    const tr = parseTrace(text, 'a.csv');
    assert.deepEqual([...tr.t], [0, 60], text);
    assert.deepEqual([...tr.rps], [1, 2], text);
    assert.equal(tr.stepSeconds, 60, text);
  }
});

test('ISO-8601 times with zones and fractions, epoch seconds and epoch ms give the same trace and its date', () => {
  const at = Date.UTC(2023, 10, 16, 18, 17, 0);
  const same = [
    'timestamp,rps\n2023-11-16T18:17:00Z,1\n2023-11-16T18:18:00.000Z,2\n2023-11-16T18:19:00Z,3\n',
    'timestamp,rps\n2023-11-16T20:17:00+02:00,1\n2023-11-16T13:18:00-05:00,2\n2023-11-16 18:19:00.0000000,3\n',
    'Time,Rate\n2023-11-16 18:17:00 UTC,1\n2023-11-16T19:18:00+0100,2\n2023-11-16T18:19:00.000 GMT,3\n',
    `t,rps\n${at / 1000},1\n${at / 1000 + 60},2\n${at / 1000 + 120},3\n`,
    `t,rps\n${at},1\n${at + 60_000},2\n${at + 120_000},3\n`,
  ];
  for (const text of same) {
    const tr = parseTrace(text, 'a.csv');
    assert.deepEqual(
      [...tr.t].map((t) => t - tr.t[0]!),
      [0, 60, 120],
      text,
    );
    assert.equal(tr.stepSeconds, 60);
    assert.equal(tr.durationSeconds, 180);
    assert.equal(tr.startMs, at, text);
  }
  assert.deepEqual(parseTrace(same[same.length - 1]!, 'a.csv').notes, ['t read as milliseconds']);
  // Relative seconds have no date; a column named in ms is read as ms.
  assert.equal(parseTrace('t,rps\n0,1\n', 'a.csv').startMs, undefined);
  assert.deepEqual([...parseTrace('t_ms,rps\n0,1\n60000,2\n', 'a.csv').t], [0, 60]);
});

test('a count per row becomes a rate over the resolution', () => {
  const tr = parseTrace('time,requests\n0,60\n60,120\n180,30\n', 'a.csv');
  assert.deepEqual([...tr.rps], [1, 2, 0.5]);
  assert.deepEqual(tr.notes, ['rps = requests / 60 s']);
});

test('a gzipped trace is read whatever its name', () => {
  const dir = mkdtempSync(join(tmpdir(), 'trace-gz-'));
  const file = join(dir, 'trace.csv.gz');
  writeFileSync(file, gzipSync('t,rps\n0,1\n60,2\n'));
  assert.deepEqual([...readTrace(file).rps], [1, 2]);
});

test('what the parser cannot know is one line naming the file, the line and the fix', () => {
  const cases: Array<[string, RegExp]> = [
    ['value,when\n1,0\n', /^x\.csv:1: missing header: .*cannot tell which column is t/],
    ['# c\n0,1\n60,2\n', /^x\.csv:2: missing header: expected "t,rps", got "0,1": the first line is a row/],
    ['t,time,rps\n0,0,1\n', /^x\.csv:1: cannot tell which column is t: 2 candidates/],
    ['t,rps\n0,1\n60,2\n60,3\n', /^x\.csv:4: t must increase: 60 follows 60 \(two rows for one time\)/],
    ['t,rps\n60,1\n0,2\n', /^x\.csv:3: t must increase: 0 follows 60 \(sort the rows by t\)/],
    ['t,rps\n0,1e300\n', /^x\.csv:2: rps must be at most 1000000000/],
    ['t,rps\n0,1\n100000000,2\n', /^x\.csv:2: the trace spans 2,315 days .* name the column t_ms/],
    ['timestamp,rps\n2023-11-16T18:17:00Z,1\n60,2\n', /^x\.csv:3: t is not a number: "60"/],
    ['t,rps\n2023-13-45T00:00:00Z,1\n', /^x\.csv:2: t is not a number/],
    ['t,count\n0,-1\n', /^x\.csv:2: count must be >= 0/],
    [
      'time,rps\n2023-11-16T18:18:00Z,1\n2023-11-16T18:17:00Z,2\n',
      /^x\.csv:3: t must increase: 2023-11-16T18:17:00Z follows 2023-11-16T18:18:00Z \(sort the rows by t\)$/,
    ],
    [
      '0.5,100,5\n',
      /^x\.csv:1: .*the first line is a row; .*\(or "t,context_tokens,generated_tokens" for one row per request\)$/,
    ],
    [
      'TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:17:03.9799600,10,5\n',
      /^x\.csv:1: missing header: .*this is a per-request token trace, which `luascale simulate` replays/,
    ],
  ];
  for (const [text, re] of cases) assert.match(error(text), re, JSON.stringify(text));
});

test('simulate warns when the trace is far from the service size, and reads a gzipped file', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'trace-cli-'));
  const big = join(dir, 'big.csv.gz');
  writeFileSync(big, gzipSync('t,rps\n0,20000\n60,30000\n'));
  const r = await runCli('simulate', '--trace', big, '--policy', 'builtin:hpa', '--json');
  assert.equal(r.code, 0, r.stderr);
  assert.match(
    r.stderr,
    /warning: .*big\.csv\.gz: the trace peaks at 30,000 req\/s × 1, 300 instance\(s\) at --capacity 100, above --max 100: .*--scale 0\.0333 brings the peak to 10 instance\(s\)/,
  );
  assert.equal(r.stdout.trim().split('\n').length, 1);
  const small = join(dir, 'small.csv');
  writeFileSync(small, 't,rps\n0,0.001\n60,0.002\n');
  const s = await runCli('simulate', '--trace', small, '--policy', 'builtin:hpa', '--json');
  assert.match(
    s.stderr,
    /0\.00002 instance\(s\) at --capacity 100: the service idles at --min 1; --scale 500,000/,
  );
  const fits = await runCli(
    'simulate',
    '--trace',
    small,
    '--scale',
    '100000',
    '--policy',
    'builtin:hpa',
    '--json',
  );
  assert.equal(fits.stderr, '');
});

test("a dated trace starts the policies' clock at its first row; --start still wins", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'trace-date-'));
  const trace = join(dir, 'dated.csv');
  writeFileSync(trace, 'timestamp,rps\n2023-11-16T20:17:00+02:00,50\n2023-11-16T18:18:00Z,50\n');
  const firstAt = async (...extra: string[]) => {
    const log = join(dir, `d${extra.length}.jsonl`);
    const r = await runCli(
      'simulate',
      '--trace',
      trace,
      '--policy',
      'builtin:hpa',
      '--decisions',
      log,
      '--json',
      ...extra,
    );
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(readFileSync(log, 'utf8').split('\n')[0]!).at as number;
  };
  assert.equal(await firstAt(), Date.UTC(2023, 10, 16, 18, 17, 15));
  assert.equal(await firstAt('--start', '2020-01-01T00:00:00Z'), Date.UTC(2020, 0, 1, 0, 0, 15));
});

test('on a terminal, reading the trace shows on stderr before the run, then the line is cleared', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'trace-tty-'));
  const trace = join(dir, 'slow.csv');
  writeFileSync(trace, 't,rps\n0,50\n60,80\n');
  let err = '';
  const io = { out: () => {}, err: (s: string) => (err += s), tty: true };
  await runSimulate({ trace, set: [], policy: 'builtin:hpa', json: true }, io);
  const first = err.split('\r').find((s) => s.trim() !== '');
  assert.match(first ?? '', /0% reading .*slow\.csv/);
  let quiet = '';
  await runSimulate(
    { trace, set: [], policy: 'builtin:hpa', json: true, progress: false },
    { ...io, err: (s: string) => (quiet += s) },
  );
  assert.equal(quiet, '');
});

test('the resolution is the most common step: one late row keeps a per-minute trace per-minute', () => {
  const tr = parseTrace('t,rps\n0,1\n60,1\n121,1\n180,1\n240,1\n300,1\n', 'a.csv');
  assert.equal(tr.stepSeconds, 60);
  assert.equal(tr.durationSeconds, 360);
  assert.deepEqual(tr.gaps, [[120, 121]]);
  const counts = parseTrace('t,count\n0,60\n60,120\n120,6\n181,60\n240,60\n', 'a.csv');
  assert.deepEqual([...counts.rps], [1, 2, 0.1, 1, 1]);
});

test('control characters from the file are escaped in the error, not sent to the terminal', () => {
  const msg = error('\u001b[2J\u001b[31mt,rps\u0007\n0,1\n');
  // eslint-disable-next-line no-control-regex
  assert.ok(!/[\u0000-\u001f]/.test(msg), JSON.stringify(msg));
  assert.match(msg, /got "\\x1b\[2J\\x1b\[31mt,rps\\x07"/);
  assert.match(error('t,rps\n0,\u0000\u0001\n'), /^x\.csv:2: rps is not a number: "\\x00\\x01"$/);
});

test('--scale above 1e9 is a usage error: 1e308 made every count Infinity, printed as null in --json', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'trace-scale-'));
  const trace = join(dir, 't.csv');
  writeFileSync(trace, 't,rps\n0,1\n60,2\n');
  const r = await runCli(
    'simulate',
    '--trace',
    trace,
    '--scale',
    '1e308',
    '--policy',
    'builtin:hpa',
    '--json',
  );
  assert.equal(r.code, 2, r.stdout);
  assert.match(r.stderr, /^error: --scale: must be <= 1000000000, got 1e308\n$/);
});

test('--trace - reads the trace from standard input (child process)', () => {
  const r = spawnSync(
    process.execPath,
    [
      '--import',
      'tsx',
      join(import.meta.dirname, 'fixtures', 'run-cli.ts'),
      'simulate',
      '--trace',
      '-',
      '--policy',
      'builtin:hpa',
      '--json',
    ],
    { encoding: 'utf8', input: gzipSync('t,rps\n0,50\n60,80\n'), timeout: 60_000 },
  );
  assert.equal(r.status, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).total_requests, (50 + 80) * 60);
});
