/**
 * Where the CLI sends the config's admin.token (issue 14, item 3): only to that config's own
 * admin.listen. With --admin / LUASCALE_ADMIN the folder's luascale.yaml is not read at all; an
 * explicit `-c` that does not exist is an error, never a silent fallback to 127.0.0.1:9090.
 */
import { test, after, before, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../helpers/run-cli.js';
import { parseAdminUrl } from '../../src/cli/admin/admin-connection.js';
import { fakeServer, type FakeServer } from './fake-server.js';

const dir = mkdtempSync(join(tmpdir(), 'ls-cli-conn-'));
const cwd = process.cwd();
let own: FakeServer; // the config's admin listener
let other: FakeServer; // any other host
let config: string;

before(async () => {
  own = await fakeServer();
  other = await fakeServer();
  own.respond(200, []);
  other.respond(200, []);
  config = join(dir, 'luascale.yaml');
  writeFileSync(
    config,
    `admin: { listen: "${own.url.slice('http://'.length)}", token: "cfg-secret" }\n` +
      'services: { web: { provider: { static: { targets: ["http://127.0.0.1:1"] } } } }\n',
  );
  // A folder whose luascale.yaml is broken: reading it would fail the command.
  mkdirSync(join(dir, 'broken'));
  writeFileSync(join(dir, 'broken', 'luascale.yaml'), 'admin: [unclosed\n');
});
afterEach(() => {
  process.chdir(cwd);
  delete process.env.LUASCALE_ADMIN;
  delete process.env.LUASCALE_TOKEN;
});
after(async () => {
  await own.close();
  await other.close();
  rmSync(dir, { recursive: true, force: true });
});

/** The authorization header of the last request `server` saw after running `args`. */
async function authSeenBy(server: FakeServer, ...args: string[]): Promise<string | undefined> {
  const before = server.requests.length;
  const r = await runCli('status', ...args);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(server.requests.length, before + 1, 'the request went to this server');
  return server.requests.at(-1)!.headers.authorization;
}

test('the folder config: its admin.listen and its token', async () => {
  process.chdir(dir);
  assert.equal(await authSeenBy(own), 'Bearer cfg-secret');
  assert.equal(await authSeenBy(own, '--token', 'flag'), 'Bearer flag');
});

test('--admin to another host never gets the config token, with or without -c', async () => {
  process.chdir(dir);
  assert.equal(await authSeenBy(other, '--admin', other.url), undefined);
  assert.equal(await authSeenBy(other, '--admin', other.url, '-c', config), undefined);
  process.env.LUASCALE_ADMIN = other.url;
  assert.equal(await authSeenBy(other), undefined);
  // A token given explicitly is the user's choice for that host.
  assert.equal(await authSeenBy(other, '--token', 'mine'), 'Bearer mine');
  process.env.LUASCALE_TOKEN = 'env-token';
  assert.equal(await authSeenBy(other), 'Bearer env-token');
});

test('--admin naming the config own listener with -c uses its token (localhost is 127.0.0.1)', async () => {
  assert.equal(await authSeenBy(own, '--admin', own.url, '-c', config), 'Bearer cfg-secret');
  const port = new URL(own.url).port;
  assert.equal(await authSeenBy(own, '--admin', `localhost:${port}`, '-c', config), 'Bearer cfg-secret');
});

test('with --admin, a broken luascale.yaml in the folder is not read', async () => {
  process.chdir(join(dir, 'broken'));
  assert.equal(await authSeenBy(other, '--admin', other.url), undefined);
  const r = await runCli('status');
  assert.equal(r.code, 1, 'without --admin it is the config to use, and it is broken');
});

test('an explicit -c that does not exist is an error naming it, and nothing is sent', async () => {
  process.chdir(dir);
  const seen = own.requests.length + other.requests.length;
  for (const args of [
    ['-c', 'missing.yaml'],
    ['--admin', other.url, '-c', 'missing.yaml'],
  ]) {
    const r = await runCli('status', ...args);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^error: missing\.yaml: cannot read: ENOENT\n$/);
  }
  assert.equal(own.requests.length + other.requests.length, seen);
});

test('a malformed --admin is a usage error (2), not "unreachable" (3)', () => {
  for (const url of [
    'http//127.0.0.1:9',
    'http:/127.0.0.1:9',
    'ftp://127.0.0.1:9',
    'http://127.0.0.1:9//x',
    'http://u:p@127.0.0.1:9',
  ]) {
    assert.throws(
      () => parseAdminUrl(url),
      (e: any) => e.code === 'LS_ERR_CLI_BAD_ARGUMENT',
      url,
    );
  }
});
