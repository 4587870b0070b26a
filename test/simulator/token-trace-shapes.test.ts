/**
 * Per-request token traces as the public ones are published: Azure's own columns and timestamps,
 * BurstGPT's columns, Mooncake's JSON Lines (ms), epoch seconds. Each must read as the canonical
 * `t,context_tokens,generated_tokens` file of the same requests.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { isTokenTraceText, parseTokenTrace } from '../../src/simulator/token-trace.js';
import { isLuascaleError } from '../../src/core/errors.js';
import { runCli } from '../helpers/run-cli.js';

const REQUESTS: Array<[number, number, number]> = [
  [0, 4808, 10],
  [0.052, 3180, 8],
  [1.5, 110, 27],
  [1.5, 7437, 1899],
  [3.25, 3, 6],
];
const canonical = 't,context_tokens,generated_tokens\n' + REQUESTS.map((r) => r.join(',')).join('\n') + '\n';

function azureStamp(t: number): string {
  // 2023-11-16 18:17:03.9799600 + t, Azure's format: no zone, 7 fractional digits.
  const ms = Date.UTC(2023, 10, 16, 18, 17, 3, 980) + Math.round(t * 1000);
  return new Date(ms).toISOString().replace('T', ' ').replace('Z', '0000');
}

const SHAPES: Record<string, string> = {
  azure:
    'TIMESTAMP,ContextTokens,GeneratedTokens\r\n' +
    REQUESTS.map(([t, c, g]) => `${azureStamp(t)},${c},${g}`).join('\r\n'),
  burstgpt:
    'Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type\n' +
    REQUESTS.map(([t, c, g]) => `${t},ChatGPT,${c},${g},${c + g},Conversation log`).join('\n') +
    '\n',
  mooncake:
    REQUESTS.map(([t, c, g]) =>
      JSON.stringify({ timestamp: Math.round(t * 1000), input_length: c, output_length: g, hash_ids: [1] }),
    ).join('\n') + '\n',
  epoch:
    'time,prompt_tokens,completion_tokens\n' +
    REQUESTS.map(([t, c, g]) => `${1_700_158_623 + t},${c},${g}`).join('\n'),
};

test('Azure, BurstGPT, Mooncake JSONL and epoch-second token traces read as the canonical file', () => {
  const want = parseTokenTrace(canonical, 'c.csv');
  for (const [name, text] of Object.entries(SHAPES)) {
    assert.ok(isTokenTraceText(text), name);
    const got = parseTokenTrace(text, `${name}.csv`);
    assert.deepEqual(
      Array.from(got.t, (x) => Math.round(x * 1000) / 1000),
      Array.from(want.t),
      name,
    );
    assert.deepEqual(Array.from(got.context), Array.from(want.context), name);
    assert.deepEqual(Array.from(got.generated), Array.from(want.generated), name);
    assert.equal(got.durationSeconds, want.durationSeconds, name);
  }
  assert.equal(isTokenTraceText('t,rps\n0,1\n'), false);
});

test('token counts beyond 32 bits and unsorted requests are one-line errors, not wrapped or reordered', () => {
  for (const [text, re] of [
    [
      't,context_tokens,generated_tokens\n0,4294967296,5\n',
      /x\.csv:2: context_tokens must be a whole number from 0 to 4294967295/,
    ],
    [
      '{"timestamp":5,"input_length":1,"output_length":1}\n{"timestamp":2,"input_length":1,"output_length":1}\n',
      /x\.csv:2: t must not decrease: 2 follows 5 \(sort the rows by t\)/,
    ],
    ['{"timestamp":0,"input_length":1,"output_length":1}\nnot json\n', /x\.csv:2: not JSON/],
    ['t,context_tokens,generated_tokens\n0,1,1\n1e9,1,1\n', /x\.csv:2: the trace spans 11,574 days/],
  ] as const) {
    assert.throws(
      () => parseTokenTrace(text, 'x.csv'),
      (err: unknown) => isLuascaleError(err, 'LS_ERR_TRACE_INVALID') && re.test(err.message),
      text,
    );
  }
});

test('simulate replays a gzipped Mooncake JSONL trace exactly as the canonical CSV', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'token-shapes-'));
  writeFileSync(join(dir, 'c.csv'), canonical);
  writeFileSync(join(dir, 'm.jsonl.gz'), gzipSync(SHAPES.mooncake!));
  const run = (file: string) =>
    runCli('simulate', '--trace', join(dir, file), '--policy', 'builtin:llm-slo', '--json', '--startup', '5');
  const [c, m] = [await run('c.csv'), await run('m.jsonl.gz')];
  assert.equal(c.code, 0, c.stderr);
  assert.equal(m.code, 0, m.stderr);
  assert.equal(JSON.parse(m.stdout).total_requests, REQUESTS.length);
  assert.equal(m.stdout, c.stdout);
});

test("Azure's dated token trace starts the policies' clock at its first request", async () => {
  const start = Date.UTC(2023, 10, 16, 18, 17, 3, 980);
  assert.equal(parseTokenTrace(SHAPES.azure!, 'a.csv').startMs, start);
  assert.equal(parseTokenTrace(canonical, 'c.csv').startMs, undefined);
  const dir = mkdtempSync(join(tmpdir(), 'token-date-'));
  writeFileSync(join(dir, 'a.csv'), SHAPES.azure!);
  const log = join(dir, 'd.jsonl');
  const report = join(dir, 'r.html');
  const r = await runCli(
    'simulate',
    '--report',
    report,
    '--trace',
    join(dir, 'a.csv'),
    '--policy',
    'builtin:llm-slo',
    '--json',
    '--decisions',
    log,
  );
  assert.equal(r.code, 0, r.stderr);
  const at = JSON.parse(readFileSync(log, 'utf8').split('\n')[0]!).at as number;
  assert.ok(at > start && at < start + 10_000 && (at - start) % 1000 === 0, `${at}`);
  // The report describes a per-request trace as one, not as "0.001 s rows, 0 gap(s)".
  const html = readFileSync(report, 'utf8');
  assert.match(html, /a\.csv \(one row per request, /);
  assert.ok(!html.includes('0.001 s rows'));
  assert.match(html, /t = 0 at 2023-11-16T18:17:03\.980Z/);
});
