/**
 * The CLI starts without loading what its commands run on: `luascale --version`, `--help` and a
 * command's `--help` build the program from each command's light `register` module; the
 * implementation (the app, the gateway, the config loader and its ajv schemas, the tokenizer, the
 * simulator, undici) loads in the action, when that command runs. This guards the structure, not a
 * timing: each case runs the CLI in a child process under a hook that records every module it loads
 * (fixtures/record-loads.mjs), and fails naming the first forbidden one. Before the commands loaded
 * lazily, `--version` loaded 1,150 modules (the whole app, ajv, gpt-tokenizer); now about 40.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createServer } from 'node:net';

const BIN = resolve(process.env.LUASCALE_CLI_BIN ?? 'test/cli/fixtures/bin.ts');
const HOOK = resolve('test/cli/fixtures/record-loads.mjs');
// By URL: the child runs in a folder of its own, where `--import tsx` would not resolve.
const TSX = import.meta.resolve('tsx');

/** Modules a start-up must not load: `{src,dist}/X/` of this package, or a package in node_modules. */
const FORBIDDEN = [
  /\/(src|dist)\/(app|gateway|admin\/admin-server|config|controller|llm|simulator\/simulate)[/.]/,
  /\/node_modules\/(ajv|ajv-formats|gpt-tokenizer|hdr-histogram-js|fastify|@sinclair\/typebox|wasmoon|undici)\//,
];

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  loaded: string[];
}

/** Runs the CLI with `args` in `cwd` (a folder without luascale.yaml) and lists the modules it loaded. */
async function runRecorded(args: string[], cwd: string): Promise<Run> {
  const log = join(cwd, `loaded-${Math.random().toString(36).slice(2)}.txt`);
  // The recorder uses module.register(), which Node 26 deprecates (DEP0205): its warning is the
  // recorder's, not the CLI's, so it must not fail the "nothing on stderr" check.
  const flags = ['--disable-warning=DEP0205', '--import', TSX, '--import', HOOK];
  const child = spawn(process.execPath, [...flags, BIN, ...args], {
    cwd,
    env: { ...process.env, LUASCALE_LOAD_LOG: log, LUASCALE_ADMIN: '', LUASCALE_TOKEN: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c) => (stdout += c));
  child.stderr.on('data', (c) => (stderr += c));
  const [code] = await once(child, 'exit');
  const loaded = [...new Set(readFileSync(log, 'utf8').split('\n').filter(Boolean))];
  return { code, stdout, stderr, loaded };
}

function assertLight(r: Run): void {
  // The recorder works: it saw the CLI itself and commander (else the check below proves nothing).
  assert.ok(
    r.loaded.some((u) => /\/(src|dist)\/cli\/main\.(ts|js)$/.test(u)),
    `the CLI's main module is not among the recorded modules:\n${r.loaded.join('\n')}`,
  );
  assert.ok(r.loaded.some((u) => u.includes('/node_modules/commander/')));
  const bad = r.loaded.filter((u) => FORBIDDEN.some((re) => re.test(u)));
  assert.deepEqual(bad.slice(0, 5), [], `${bad.length} module(s) a start-up should not load`);
}

/** A loopback port nothing listens on (bound, then closed). */
async function closedPort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, 'close');
  return port;
}

const dir = mkdtempSync(join(tmpdir(), 'luascale-startup-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

for (const [args, expect] of [
  [['--version'], /^0\.1\.0\n$/],
  [['--help'], /Usage: luascale/],
  [['keys', '--help'], /Usage: luascale keys/],
  [['usage', '--help'], /group by these, comma-separated: day, service, consumer/],
  [['simulate', '--help'], /--service-ms <ms> +base latency of a request \(default 50\)/],
] as const) {
  test(`luascale ${args.join(' ')} loads no command implementation (no app, gateway, config, ajv, tokenizer)`, async () => {
    const r = await runRecorded([...args], dir);
    assert.equal(r.stderr, '');
    assert.equal(r.code, 0);
    assert.match(r.stdout, expect);
    assertLight(r);
  });
}

test('an admin command without a config loads its HTTP client when it runs, but not the config loader', async () => {
  const url = `http://127.0.0.1:${await closedPort()}`;
  const r = await runRecorded(['keys', 'create', '--consumer', 'c1', '--admin', url], dir);
  // The action ran (the client loaded and found nobody there): unreachable, exit 3.
  assert.equal(r.code, 3, r.stderr);
  assert.match(r.stderr, /cannot reach the admin API/);
  assert.ok(r.loaded.some((u) => u.includes('/node_modules/undici/')));
  const config = r.loaded.filter((u) => /\/(src|dist)\/config\/|\/node_modules\/ajv\//.test(u));
  assert.deepEqual(config.slice(0, 5), []);
});
