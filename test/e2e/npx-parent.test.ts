/**
 * Regression (issue 16, item 5): started through `npx luascale up`, luascale runs under
 * `npm exec → sh → node`; a SIGTERM to the npx process (what a service manager or a container
 * runtime sends) ended npm and the shell but not luascale, which kept its ports and instances.
 * Now luascale sees its parent go and stops as on SIGTERM: drain, stop instances, exit.
 *
 * The test goes through the real npx. npx resolves the bin of the package in the current folder;
 * a throw-away package named luascale whose bin runs the sources (as test/fixtures/luascale-cli.ts
 * does) keeps the test on the code under test rather than on a build in dist/.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  mkdtempSync,
  realpathSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { alive, eventually, freePort, markedPids, run, upConfig } from '../helpers/up-process.js';
import { watchParent } from '../../src/cli/commands/up.js';

function hasNpx(): boolean {
  try {
    execFileSync('npx', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** The pid of the node process running `bin` (npm and sh carry other command lines). */
function pidRunning(bin: string): number | undefined {
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const argv = readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0');
      if (argv[1] !== undefined && realpathSync(argv[1]) === bin && alive(Number(d))) return Number(d);
    } catch {
      // gone while we looked
    }
  }
  return undefined;
}

test('watchParent calls back once the parent pid changes, and not before', async () => {
  let ppid = 100;
  let calls = 0;
  const gone = new Promise<void>((r) =>
    watchParent(
      () => {
        calls++;
        r();
      },
      { intervalMs: 5, ppid: () => ppid, parent: 100 },
    ),
  );
  await new Promise<void>((r) => setImmediate(r));
  assert.equal(calls, 0);
  ppid = 1;
  // The watcher's timer is unref'd (it must not keep luascale alive): this deadline keeps the test's loop up.
  let deadline: NodeJS.Timeout | undefined;
  await Promise.race([
    gone,
    new Promise<never>((_, fail) => {
      deadline = setTimeout(() => fail(new Error('not called within 5 s')), 5000);
    }),
  ]).finally(() => clearTimeout(deadline));
  assert.equal(calls, 1);
});

test(
  'SIGTERM to the npx process stops luascale: it drains, stops its instances and exits',
  { timeout: 120_000, skip: !hasNpx() && 'npx is not installed' },
  async () => {
    const mark = randomBytes(6).toString('hex');
    const dir = realpathSync(mkdtempSync(join(tmpdir(), 'ls-npx-')));
    const bin = join(dir, 'luascale.mjs');
    writeFileSync(
      join(dir, 'package.json'),
      JSON.stringify({
        name: 'luascale',
        private: true,
        type: 'module',
        bin: { luascale: './luascale.mjs' },
      }),
    );
    const tsx = pathToFileURL(resolve('node_modules/tsx/dist/esm/api/index.mjs')).href;
    const cli = pathToFileURL(resolve('test/fixtures/luascale-cli.ts')).href;
    writeFileSync(
      bin,
      `#!/usr/bin/env node\nimport { register } from ${JSON.stringify(tsx)};\nregister();\nawait import(${JSON.stringify(cli)});\n`,
    );
    chmodSync(bin, 0o755);
    const cfg = join(dir, 'luascale.yaml');
    const [gPort, aPort] = [await freePort(), await freePort()];
    writeFileSync(
      cfg,
      upConfig({ dir, mark, gateway: `127.0.0.1:${gPort}`, admin: `127.0.0.1:${aPort}`, instances: 2 }),
    );
    // npx links the folder's package into its cache: a cache of the test's own leaves no trace.
    const npx = run('npx', ['luascale', 'up', '-c', cfg], {
      cwd: dir,
      env: { ...process.env, npm_config_cache: join(dir, '.npm'), npm_config_update_notifier: 'false' },
    });
    let luascale: number | undefined;
    try {
      await npx.waitForLines(/admin API and dashboard on/, 1, 60_000);
      await npx.waitForLines(/instance \S+ ready/, 2);
      luascale = pidRunning(bin);
      assert.ok(luascale, 'the luascale node process');
      assert.notEqual(luascale, npx.child.pid, 'npx runs luascale in a child process');
      const instances = markedPids(mark).filter(
        (p) => p !== luascale && readFileSync(`/proc/${p}/cmdline`, 'utf8').includes('server.mjs'),
      );
      assert.equal(instances.length, 2, `two instance processes: ${instances}`);

      npx.child.kill('SIGTERM'); // the npx process only, as a supervisor would
      await npx.exited;
      // Before the fix luascale and its instances kept running: a deadline turns that into a failure.
      const stopped = await eventually(() => !alive(luascale!) && instances.every((p) => !alive(p)), 20_000);
      assert.ok(
        stopped,
        `still running: luascale ${alive(luascale) ? luascale : '-'}, instances ${instances.filter((p) => alive(p))}\n${npx.lines.join('\n')}`,
      );
      assert.ok(
        npx.lines.some((l) =>
          /parent process \(pid \d+\) exited: draining in-flight requests and stopping instances/.test(l),
        ),
        npx.lines.join('\n'),
      );
      assert.ok(
        npx.lines.some((l) => / stopped$/.test(l)),
        npx.lines.join('\n'),
      );
      assert.deepEqual(markedPids(mark), []);
    } finally {
      if (npx.child.exitCode === null && npx.child.signalCode === null) npx.child.kill('SIGKILL');
      for (const p of [luascale, ...markedPids(mark)]) if (p && alive(p)) process.kill(p, 'SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
