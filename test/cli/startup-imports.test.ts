/**
 * The CLI starts without loading what its commands run on: `luascale --version`, `--help` and a
 * command's `--help` build the program from each command's light `register` module; the
 * implementation (the app, the gateway, the config loader and its ajv schemas, the tokenizer, the
 * simulator, undici) loads in the action, when that command runs. This guards the structure, not a
 * timing: each case runs the CLI in a child process under a hook that records every module it loads
 * (fixtures/record-loads.mjs), and fails naming the first forbidden one. Before the commands loaded
 * lazily, `--version` loaded 1,150 modules (the whole app, ajv, gpt-tokenizer); now about 40.
 * A command that reads luascale.yaml validates it with the validator `npm run gen` precompiled
 * (src/config/config-validator.generated.ts), never with ajv's compiler (~200-650 ms per command).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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

/**
 * ajv's schema compiler (what a run-time `ajv.compile` loads); the generated validator needs only
 * ajv's small runtime helpers (ajv/dist/runtime/).
 */
const AJV_COMPILER = /\/node_modules\/ajv\/dist\/(ajv|core|compile|vocabularies)[/.]/;

/** A folder holding `luascale.yaml` with `text` (the CLI reads ./luascale.yaml when there is one). */
function configDir(text: string): string {
  const cwd = join(dir, `config-${Math.random().toString(36).slice(2)}`);
  mkdirSync(cwd);
  writeFileSync(join(cwd, 'luascale.yaml'), text);
  return cwd;
}

/** The config loader and the generated validator ran; ajv's compiler never loaded. */
function assertPrecompiled(r: Run): void {
  assert.ok(
    r.loaded.some((u) => /\/src\/config\/load-config\.ts$/.test(u)),
    'the config loader did not load',
  );
  const compiler = r.loaded.filter((u) => AJV_COMPILER.test(u));
  assert.deepEqual(compiler.slice(0, 5), [], `${compiler.length} module(s) of ajv's compiler loaded`);
  assert.ok(r.loaded.some((u) => /\/src\/config\/config-validator\.generated\.ts$/.test(u)));
}

const SERVICES = 'services:\n  web:\n    provider:\n      static: { targets: ["http://127.0.0.1:1"] }\n';

test("keys list with a luascale.yaml validates it with the generated validator, not ajv's compiler", async () => {
  const port = await closedPort();
  const cwd = configDir(`admin:\n  listen: 127.0.0.1:${port}\n${SERVICES}`);
  const r = await runRecorded(['keys', 'list'], cwd);
  // The config was read (its admin.listen is where the client went), and nobody is there: exit 3.
  assert.equal(r.code, 3, r.stderr);
  assert.match(r.stderr, new RegExp(`cannot reach the admin API at http://127\\.0\\.0\\.1:${port}`));
  assertPrecompiled(r);
});

test('a config error found by the generated validator keeps its file:line path: message', async () => {
  // line 3: a duration beyond Node's timer limit (the x-duration-range keyword) and an unknown key
  const cwd = configDir(
    `admin:\n  listen: 127.0.0.1:9\ngateway: { request_timeout: 30d, workres: 2 }\n${SERVICES}`,
  );
  const r = await runRecorded(['keys', 'list'], cwd);
  assert.equal(r.code, 1, r.stderr);
  assert.match(
    r.stderr,
    /luascale\.yaml:3 gateway\.request_timeout: must be at most 24d \(Node's timer limit is 24\.8 days\), got "30d"/,
  );
  assert.match(
    r.stderr,
    /luascale\.yaml:3 gateway\.workres: unknown property "workres" \(did you mean "workers"\?\)/,
  );
  assertPrecompiled(r);
});
