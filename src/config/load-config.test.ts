import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig, loadConfig, type ConfigIssue } from './load-config.js';
import { scalingFromConfig } from './scaling-settings.js';
import { isLuascaleError } from '../core/errors.js';

const minimal = `
services:
  web:
    provider:
      process: { command: ["node", "app.js"] }
`;

function issuesOf(
  text: string,
  env: NodeJS.ProcessEnv = {},
  code: 'LS_ERR_CONFIG_INVALID' | 'LS_ERR_CONFIG_ENV' = 'LS_ERR_CONFIG_INVALID',
): ConfigIssue[] {
  try {
    parseConfig(text, 'luascale.yaml', env);
  } catch (err) {
    assert.ok(isLuascaleError(err, code), String(err));
    return err.details.issues as ConfigIssue[];
  }
  assert.fail('expected the config to be rejected');
}

test('a minimal config gets every documented default', () => {
  const c = parseConfig(minimal, 'luascale.yaml', {});
  assert.equal(c.gateway.listen, '127.0.0.1:8080');
  assert.equal(c.admin.listen, '127.0.0.1:9090');
  assert.equal(c.store.sqlite, './luascale.db');
  const web = c.services.web!;
  assert.deepEqual(web.routes, [{ path_prefix: '/' }]);
  assert.ok('process' in web.provider);
  if ('process' in web.provider) {
    assert.equal(web.provider.process.port_env, 'PORT');
    assert.equal(web.provider.process.health_path, '/healthz');
  }
  assert.equal(web.scaling.min, 1);
  assert.equal(web.scaling.max, 10);
  assert.equal(web.scaling.behavior.scale_down.stabilization, '300s');
  assert.ok(Object.isFrozen(c.services.web));
});

test('scalingFromConfig normalises durations and HPA-style change limits', () => {
  const c = parseConfig(minimal, 'luascale.yaml', {});
  const s = scalingFromConfig(c, 'web', '/cfg');
  assert.equal(s.intervalMs, 1000);
  assert.deepEqual(s.behavior.scaleUp, {
    stabilizationMs: 0,
    select: 'max',
    rules: [
      { type: 'pods', value: 4, periodMs: 15_000 },
      { type: 'percent', value: 100, periodMs: 15_000 },
    ],
  });
  assert.equal(s.behavior.scaleDown.stabilizationMs, 300_000);
  assert.equal(s.behavior.tolerance, 0.1);
  assert.deepEqual(s.policy, {
    builtin: 'target-tracking',
    params: { metric: 'cpu', target: 60, fallback: { metric: 'inflight', target: 70 } },
  });
});

test('a Lua policy path resolves against the config directory', () => {
  const c = parseConfig(
    minimal.replace('process:', 'process:') + '    scaling: { policy: ./p/cpu.lua }\n',
    'x.yaml',
    {},
  );
  assert.deepEqual(scalingFromConfig(c, 'web', '/etc/ls').policy, { file: '/etc/ls/./p/cpu.lua' });
});

test('every error is reported at once, each with its line and YAML path', () => {
  const issues = issuesOf(`gateway:
  listen: "not-a-listener"
services:
  api:
    provider:
      process: { command: ["x"] }
    scaling:
      min: 3
      max: 2
      polcy: x.lua
`);
  const byPath = Object.fromEntries(issues.map((i) => [i.path, i]));
  assert.equal(byPath['gateway.listen']?.line, 2);
  assert.equal(byPath['services.api.scaling.polcy']?.line, 10);
  assert.match(byPath['services.api.scaling.polcy']!.message, /did you mean "policy"/);
  assert.equal(issues.length, 2, JSON.stringify(issues));
});

test('cross-field checks name the line: max below min', () => {
  const issues = issuesOf(`services:
  api:
    provider:
      process: { command: ["x"] }
    scaling:
      min: 3
      max: 2
`);
  assert.deepEqual(issues, [
    {
      file: 'luascale.yaml',
      line: 7,
      path: 'services.api.scaling.max',
      message: 'must be >= min (3), got 2',
    },
  ]);
});

test('a provider that is none of the known kinds gets one clear line', () => {
  const issues = issuesOf(`services:
  api:
    provider:
      docker: { image: x }
`);
  assert.equal(issues.length, 1);
  assert.equal(issues[0]!.path, 'services.api.provider');
  assert.equal(issues[0]!.line, 4);
  assert.match(issues[0]!.message, /exactly one of process, static, exec, kubernetes/);
});

test('a known provider with a bad field reports that field, not every union branch', () => {
  const issues = issuesOf(`services:
  api:
    provider:
      process:
        command: []
`);
  assert.equal(issues.length, 1, JSON.stringify(issues));
  assert.equal(issues[0]!.path, 'services.api.provider.process.command');
  assert.equal(issues[0]!.line, 5);
});

test('${VAR} and ${VAR:-default} interpolate, and numbers stay numbers', () => {
  const c = parseConfig(
    `admin: { token: "\${TOK}", listen: "127.0.0.1:\${APORT:-9999}" }
gateway:
  workers: \${W:-2}
${minimal}`,
    'luascale.yaml',
    { TOK: 's3cret' },
  );
  assert.equal(c.admin.token, 's3cret');
  assert.equal(c.admin.listen, '127.0.0.1:9999');
  assert.equal(c.gateway.workers, 2);
});

test('an unset ${VAR} without a default is LS_ERR_CONFIG_ENV naming its line', () => {
  const issues = issuesOf(`admin:\n  token: \${NOPE}\n${minimal}`, {}, 'LS_ERR_CONFIG_ENV');
  assert.equal(issues[0]!.line, 2);
  assert.equal(issues[0]!.path, 'admin.token');
  assert.match(issues[0]!.message, /NOPE is not set/);
});

test("LS_ERR_CONFIG_ENV: one line per unset variable, in the registry's words, first one as parameters", () => {
  assert.throws(
    () =>
      parseConfig(
        `admin:\n  token: \${NOPE}\n  listen: "\${HOST}:\${PORT:-9090}"\n${minimal}`,
        'luascale.yaml',
        {},
      ),
    (err: unknown) => {
      assert.ok(isLuascaleError(err, 'LS_ERR_CONFIG_ENV'), String(err));
      assert.equal(err.status, 400);
      assert.equal(
        err.message,
        [
          'luascale.yaml:2 admin.token: environment variable NOPE is not set (use ${NOPE:-default})',
          'luascale.yaml:3 admin.listen: environment variable HOST is not set (use ${HOST:-default})',
        ].join('\n'),
      );
      assert.deepEqual(
        { file: err.details.file, line: err.details.line, path: err.details.path, name: err.details.name },
        { file: 'luascale.yaml', line: 2, path: 'admin.token', name: 'NOPE' },
      );
      return true;
    },
  );
});

test('YAML syntax errors name the file and line', () => {
  assert.throws(
    () => parseConfig('services:\n  web: [unclosed\n', 'bad.yaml', {}),
    (err: unknown) =>
      isLuascaleError(err, 'LS_ERR_CONFIG_PARSE') && /^bad\.yaml:\d+: YAML syntax error/.test(err.message),
  );
});

test('a missing file is a clear read error', () => {
  assert.throws(
    () => loadConfig('/nonexistent/luascale.yaml'),
    (err: unknown) => isLuascaleError(err, 'LS_ERR_CONFIG_READ') && err.message.includes('ENOENT'),
  );
});

test('loadConfig resolves baseDir from the file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ls-cfg-'));
  writeFileSync(join(dir, 'luascale.yaml'), minimal);
  assert.equal(loadConfig(join(dir, 'luascale.yaml'), {}).baseDir, dir);
});
