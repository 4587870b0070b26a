/**
 * Regression (issue 16, item 3): `luascale up` with gateway.listen or admin.listen taken printed
 * "internal error (please report)" with a stack trace. Now it is one line naming the key and the
 * address, with "another luascale?" when a luascale answers there; exit 1, with no store opened, no
 * instance started and nothing left listening. admin.listen equal to gateway.listen is a config
 * issue for `check` and `up`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../helpers/run-cli.js';
import { freePort, markedPids, runUp, upConfig } from '../helpers/up-process.js';

async function hold(port: number): Promise<Server> {
  const s = createServer((c) => c.end('SSH-2.0-not-luascale\r\n'));
  await new Promise<void>((r) => s.listen(port, '127.0.0.1', r));
  return s;
}

/** Resolves true when host:port can be bound (nothing holds it). */
async function bindable(port: number): Promise<boolean> {
  const s = createServer();
  return new Promise((r) => {
    s.once('error', () => r(false));
    s.listen(port, '127.0.0.1', () => s.close(() => r(true)));
  });
}

function setup() {
  const dir = mkdtempSync(join(tmpdir(), 'ls-in-use-'));
  const mark = randomBytes(6).toString('hex');
  return { dir, mark, cfg: join(dir, 'luascale.yaml') };
}

async function expectOneLine(cfg: string, key: string, address: string, luascale: RegExp | null) {
  const up = runUp(cfg);
  const exit = await Promise.race([
    up.exited,
    new Promise<never>((_, fail) => setTimeout(() => fail(new Error('up did not exit')), 30_000).unref()),
  ]).finally(() => up.child.kill('SIGKILL'));
  const stderr = up.stderr();
  assert.equal(exit.code, 1, `exit code; stderr: ${stderr}; stdout: ${up.lines.join('\n')}`);
  const lines = stderr.trim().split('\n');
  assert.equal(lines.length, 1, `one line: ${stderr}`);
  assert.ok(lines[0]!.startsWith(`error: ${cfg}:`), lines[0]);
  assert.ok(lines[0]!.includes(` ${key}: cannot listen on ${address}: address already in use`), lines[0]);
  if (luascale) assert.match(lines[0]!, luascale);
  else assert.doesNotMatch(lines[0]!, /another luascale/);
  assert.doesNotMatch(stderr, /internal error|EADDRINUSE|\bat .*:\d+:\d+/);
  assert.deepEqual(up.lines, [], 'nothing started, nothing logged');
}

test(
  'up with gateway.listen taken by another program: one line naming the key and address, exit 1, nothing started',
  { timeout: 60_000 },
  async () => {
    const { dir, mark, cfg } = setup();
    const [gPort, aPort] = [await freePort(), await freePort()];
    const other = await hold(gPort);
    try {
      writeFileSync(cfg, upConfig({ dir, mark, gateway: `127.0.0.1:${gPort}`, admin: `127.0.0.1:${aPort}` }));
      await expectOneLine(cfg, 'gateway.listen', `127.0.0.1:${gPort}`, null);
      assert.deepEqual(markedPids(mark), [], 'no instance started');
      assert.equal(existsSync(join(dir, 'ls.db')), false, 'the store was not opened');
      assert.equal(await bindable(aPort), true, 'admin.listen not left bound');
    } finally {
      other.close();
      for (const p of markedPids(mark)) process.kill(p, 'SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  },
);

test(
  'a second up on the same ports says "another luascale?" for the gateway, then for the admin API',
  { timeout: 90_000 },
  async () => {
    const first = setup();
    const second = setup();
    const [gPort, aPort] = [await freePort(), await freePort()];
    writeFileSync(
      first.cfg,
      upConfig({ ...first, gateway: `127.0.0.1:${gPort}`, admin: `127.0.0.1:${aPort}` }),
    );
    const running = runUp(first.cfg);
    try {
      await running.waitForLines(/admin API and dashboard on/);
      await running.waitForLines(/instance \S+ ready/);
      const instances = markedPids(first.mark);
      assert.equal(instances.length, 1);

      writeFileSync(
        second.cfg,
        upConfig({ ...second, gateway: `127.0.0.1:${gPort}`, admin: `127.0.0.1:${aPort}` }),
      );
      await expectOneLine(
        second.cfg,
        'gateway.listen',
        `127.0.0.1:${gPort}`,
        /\(another luascale\? its gateway answers there\)$/,
      );
      const freeG = await freePort();
      writeFileSync(
        second.cfg,
        upConfig({ ...second, gateway: `127.0.0.1:${freeG}`, admin: `127.0.0.1:${aPort}` }),
      );
      await expectOneLine(
        second.cfg,
        'admin.listen',
        `127.0.0.1:${aPort}`,
        /\(another luascale\? its admin API answers there\)$/,
      );
      assert.equal(await bindable(freeG), true, 'gateway.listen not left bound');
      assert.deepEqual(markedPids(second.mark), [], 'the second up started no instance');
      assert.deepEqual(markedPids(first.mark), instances, "the first up's instance is untouched");
    } finally {
      running.child.kill('SIGTERM');
      await running.exited;
      for (const p of [...markedPids(first.mark), ...markedPids(second.mark)]) process.kill(p, 'SIGKILL');
      rmSync(first.dir, { recursive: true, force: true });
      rmSync(second.dir, { recursive: true, force: true });
    }
  },
);

test(
  'admin.listen equal to gateway.listen is a config issue for check and up',
  { timeout: 60_000 },
  async () => {
    const { dir, mark, cfg } = setup();
    const port = await freePort();
    try {
      for (const [gateway, admin] of [
        [`127.0.0.1:${port}`, `127.0.0.1:${port}`],
        [`0.0.0.0:${port}`, `127.0.0.1:${port}`],
      ]) {
        writeFileSync(cfg, upConfig({ dir, mark, gateway: gateway!, admin: admin! }));
        const message = `${cfg}:2 admin.listen: ${admin} is also gateway.listen (${gateway}): give the admin API an address of its own`;
        const check = await runCli('check', cfg);
        assert.equal(check.code, 1, check.stderr);
        assert.ok(check.stderr.includes(message), check.stderr);
        const up = runUp(cfg);
        const exit = await up.exited;
        assert.equal(exit.code, 1, up.stderr());
        assert.equal(up.stderr(), `error: ${message}\n`);
        assert.deepEqual(markedPids(mark), []);
      }
      // Different ports, or port 0 on both (a free port each), are fine.
      writeFileSync(
        cfg,
        upConfig({ dir, mark, gateway: `127.0.0.1:${port}`, admin: `127.0.0.1:${port + 1}` }),
      );
      assert.doesNotMatch((await runCli('check', cfg)).stderr, /is also gateway\.listen/);
      writeFileSync(cfg, upConfig({ dir, mark, gateway: '127.0.0.1:0', admin: '127.0.0.1:0' }));
      assert.doesNotMatch((await runCli('check', cfg)).stderr, /is also gateway\.listen/);
    } finally {
      for (const p of markedPids(mark)) process.kill(p, 'SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
