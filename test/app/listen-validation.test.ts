/**
 * Regression (issue 14, item 8): `up` with a non-loopback admin.listen and no token printed the
 * error and kept running with the gateway listening (same with an admin host that does not
 * resolve). Now both are config issues: `up` reports them in one line and exits 1 before it
 * listens on anything, and `luascale check luascale.yaml` reports the same issue.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../helpers/run-cli.js';

/** Holds a loopback port: if `up` tried to listen on it before validating, it would fail with EADDRINUSE. */
async function holdPort(): Promise<Server> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return s;
}

function runUp(cfg: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'test/fixtures/luascale-cli.ts', 'up', '-c', cfg],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c) => (stdout += c));
  child.stderr.on('data', (c) => (stderr += c));
  // The old code kept running: a deadline (not a sleep) turns that into a failure with the output.
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  return new Promise((r) =>
    child.once('close', (code) => {
      clearTimeout(timer);
      r({ code, stdout, stderr });
    }),
  );
}

const cases = [
  {
    name: 'a non-loopback admin.listen without a token',
    admin: (port: number) => `admin:\n  listen: "0.0.0.0:${port}"\n`,
    line: 4,
    path: 'admin.listen',
    message: /is not a loopback address and admin\.token is empty/,
  },
  {
    name: 'a non-loopback admin.listen with an empty token',
    admin: (port: number) => `admin:\n  listen: "0.0.0.0:${port}"\n  token: "\${LS_TEST_UNSET_TOKEN:-}"\n`,
    line: 5,
    path: 'admin.token',
    message: /is not a loopback address and admin\.token is empty/,
  },
  {
    name: 'an admin host that does not resolve',
    admin: (port: number) => `admin:\n  listen: "no-such-host.invalid:${port}"\n  token: secret\n`,
    line: 4,
    path: 'admin.listen',
    message: /host "no-such-host\.invalid" does not resolve/,
  },
];

for (const c of cases) {
  test(
    `up with ${c.name} exits 1 in one line before listening; check reports it`,
    { timeout: 40_000 },
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'ls-listen-'));
      const gateway = await holdPort();
      const admin = await holdPort();
      const gPort = (gateway.address() as { port: number }).port;
      const aPort = (admin.address() as { port: number }).port;
      const cfg = join(dir, 'luascale.yaml');
      writeFileSync(
        cfg,
        `gateway:\n  listen: "127.0.0.1:${gPort}"\n` +
          c.admin(aPort) +
          `store: { sqlite: "${dir}/l.db" }
services:
  web:
    provider: { static: { targets: ["http://127.0.0.1:1"] } }
    scaling: { min: 1, max: 1, policy: { builtin: hpa, params: { metric: cpu, target: 60 } } }
`,
      );
      try {
        const up = await runUp(cfg);
        assert.equal(up.code, 1, `exit code; stdout: ${up.stdout}; stderr: ${up.stderr}`);
        const lines = up.stderr.trim().split('\n');
        assert.equal(lines.length, 1, `one line: ${up.stderr}`);
        assert.ok(lines[0]!.includes(`${cfg}:${c.line} ${c.path}: `), lines[0]);
        assert.match(lines[0]!, c.message);
        assert.doesNotMatch(up.stderr, /EADDRINUSE|at .*\.ts:\d+/, 'failed before any listen, no stack');
        assert.equal(up.stdout, '', 'nothing started');

        const check = await runCli('check', cfg);
        assert.equal(check.code, 1, check.stdout + check.stderr);
        assert.ok(check.stderr.includes(`${cfg}:${c.line} ${c.path}: `), check.stderr);
        assert.match(check.stderr, c.message);
      } finally {
        gateway.close();
        admin.close();
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );
}
