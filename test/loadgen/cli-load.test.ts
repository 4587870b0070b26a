import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { isLuascaleError } from '../../src/core/errors.js';
import { loadCommand, loadOptionsFromArgs, register, type LoadArgs } from '../../src/cli/commands/load.js';
import { main } from '../../src/cli/main.js';

let server: Server;
let base: string;
const dir = mkdtempSync(join(tmpdir(), 'luascale-load-'));

before(async () => {
  server = createServer((_req, res) => res.end('ok'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => {
  rmSync(dir, { recursive: true, force: true });
  return new Promise<void>((resolve) => server.close(() => resolve()));
});

/** Runs the CLI in-process for its exit code and stderr (stdout belongs to the test runner's protocol). */
async function cli(...args: string[]): Promise<{ code: number; err: string }> {
  let err = '';
  const write = process.stderr.write;
  process.stderr.write = ((chunk: string) => ((err += chunk), true)) as typeof process.stderr.write;
  try {
    return { code: await main(['node', 'luascale', ...args]), err };
  } finally {
    process.stderr.write = write;
  }
}

/** Runs the load command body with captured output. */
async function run(args: LoadArgs, tty = false): Promise<{ out: string; err: string }> {
  let out = '';
  let err = '';
  await loadCommand(args, {
    stdout: { write: (t: string) => (out += t) },
    stderr: { write: (t: string) => (err += t), isTTY: tty },
  });
  return { out, err };
}

describe('luascale load', () => {
  it('is registered on the program', () => {
    const program = new Command();
    register(program);
    assert.ok(program.commands.some((c) => c.name() === 'load'));
  });

  it('exits 0 after a run', async () => {
    const r = await cli('load', '--url', `${base}/`, '--rps', '10', '--duration', '100ms', '--json');
    assert.equal(r.code, 0, r.err);
  });

  it('--json prints the summary as one JSON object, with no progress bar', async () => {
    const r = await run({ url: `${base}/`, rps: '40', duration: '500ms', json: true }, true);
    const s = JSON.parse(r.out);
    assert.equal(s.sent, 20);
    assert.equal(s.ok, 20);
    for (const k of ['status429', 'status503', 'errors', 'achievedRps', 'timeline']) assert.ok(k in s, k);
    assert.deepEqual(Object.keys(s.latencyMs).sort(), ['max', 'mean', 'p50', 'p90', 'p95', 'p99']);
    assert.equal(r.err, '');
  });

  it('prints a readable table by default, the timeline on request, and a progress bar on a TTY only', async () => {
    const r = await run(
      { url: `${base}/`, pattern: 'step:10,30@200ms', duration: '0.6', timeline: true },
      true,
    );
    assert.match(r.out, /^pattern\s+step:10,30@200ms$/m);
    assert.match(r.out, /^sent\s+14 /m);
    assert.match(r.out, /^\s+t\s+target\s+sent/m);
    assert.match(r.err, /\r\[#*\.*\] [\d.]+\/1s {2}sent \d+/);
    const quiet = await run({ url: `${base}/`, rps: '10', duration: '0.3' }, false);
    assert.equal(quiet.err, '');
  });

  it('replays a trace file scaled by --scale', async () => {
    const trace = join(dir, 'tiny.csv');
    writeFileSync(trace, 't,rps\n0,1\n1,3\n');
    const r = await run({ url: `${base}/`, trace, scale: '10', duration: '1s', json: true });
    const s = JSON.parse(r.out);
    assert.equal(s.sent, 10);
    assert.match(s.pattern, /tiny\.csv ×10/);
  });

  const usage: Array<[string, string[], RegExp]> = [
    ['no --url', ['--rps', '1'], /--url: required/],
    ['a bad --url', ['--url', 'ftp://x', '--rps', '1'], /expected http:\/\/ or https:\/\//],
    [
      'no rate',
      ['--url', 'http://127.0.0.1:1/'],
      /exactly one of --rps N, --pattern P, --trace file.csv or --llm-trace tokens.csv/,
    ],
    [
      'two rates',
      ['--url', 'http://127.0.0.1:1/', '--rps', '1', '--pattern', '2'],
      /got --rps and --pattern/,
    ],
    [
      'a bad pattern',
      ['--url', 'http://127.0.0.1:1/', '--pattern', 'step:1,2@0s'],
      /--pattern: step: times must be > 0/,
    ],
    [
      'a bad duration',
      ['--url', 'http://127.0.0.1:1/', '--rps', '1', '--duration', 'forever'],
      /--duration: expected a duration/,
    ],
    [
      'a bad --max-requests',
      ['--url', 'http://127.0.0.1:1/', '--rps', '1', '--max-requests', '0'],
      /--max-requests: expected a whole number >= 1/,
    ],
    [
      '--scale without a trace',
      ['--url', 'http://127.0.0.1:1/', '--rps', '1', '--scale', '2'],
      /--scale: applies to --trace and --llm-trace only/,
    ],
    [
      'a missing trace',
      ['--url', 'http://127.0.0.1:1/', '--trace', '/nonexistent/x.csv'],
      /x\.csv: trace file not found/,
    ],
  ];
  for (const [name, args, message] of usage) {
    // README's table: a bad argument value is a usage error (2); a trace file that cannot be read is 1.
    const code = name === 'a missing trace' ? 1 : 2;
    it(`exits ${code} with one line on ${name}`, async () => {
      const r = await cli('load', ...args);
      assert.equal(r.code, code, r.err);
      assert.match(r.err, message);
      assert.equal(r.err.trim().split('\n').length, 1, r.err);
    });
  }

  it('a bad trace row is reported with its file and line', () => {
    const trace = join(dir, 'bad.csv');
    writeFileSync(trace, 't,rps\n0,1\n1,-3\n');
    assert.throws(
      () => loadOptionsFromArgs({ url: 'http://127.0.0.1:1/', trace }),
      (err) => isLuascaleError(err) && /bad\.csv:3: rps must be >= 0/.test(err.message),
    );
  });
});
