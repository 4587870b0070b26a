/**
 * Issue 17 item 15: YAML merge keys and `x-*` extension keys (as docker-compose files use them),
 * compound durations, a quoted whole `"${VAR}"` typed like an unquoted one, and validation messages
 * that state the rule rather than the field's description or a raw regex.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig, type ConfigIssue } from '../../src/config/load-config.js';
import { scalingFromConfig } from '../../src/config/scaling-settings.js';
import { ConfigInputSchema } from '../../src/config/schema.js';
import { isLuascaleError } from '../../src/core/errors.js';
import { parseCliDuration, parseDuration } from '../../src/core/duration.js';

function issuesOf(text: string, env: NodeJS.ProcessEnv = {}): ConfigIssue[] {
  try {
    parseConfig(text, 'luascale.yaml', env);
  } catch (err) {
    assert.ok(isLuascaleError(err, 'LS_ERR_CONFIG_INVALID'), String(err));
    return err.details.issues as ConfigIssue[];
  }
  assert.fail('expected the config to be rejected');
}

test('merge keys and x-* keys anywhere: anchors shared by services, extensions ignored', () => {
  const c = parseConfig(
    `x-common: &common
  provider:
    process: { command: ["node", "app.js"], env: { MODE: prod } }
  traffic: &traffic
    x-note: extensions inside a section are ignored too
    queue: { max: 5 }
x-meta: { owner: team-a }
gateway: { x-comment: "fronted by the LB", listen: "127.0.0.1:0" }
services:
  x-template: { not: a service }
  api:
    <<: *common
    x-doc: an extension on a service
    scaling: { max: 4, params: { x-kept: 1 } }
  web:
    <<: *common
    traffic:
      <<: *traffic
      queue: { max: 9 }
`,
    'luascale.yaml',
    {},
  );
  assert.deepEqual(Object.keys(c.services).sort(), ['api', 'web']);
  assert.equal(c.gateway.listen, '127.0.0.1:0');
  assert.ok(!('x-comment' in c.gateway));
  const api = c.services.api!;
  assert.ok('process' in api.provider && api.provider.process.env?.MODE === 'prod');
  assert.equal(api.traffic?.queue?.max, 5);
  assert.ok(!('x-note' in api.traffic!));
  assert.ok(!('x-doc' in api));
  // Free-form maps (policy params, env) keep their keys: x- is theirs to use.
  assert.deepEqual(api.scaling.params, { 'x-kept': 1 });
  assert.equal(c.services.web!.traffic?.queue?.max, 9);
});

test('an unknown key that does not start with x- is still refused', () => {
  const issues = issuesOf(`services:
  web:
    provider: { static: { targets: ["http://127.0.0.1:1"] } }
    xdoc: 1
`);
  assert.equal(issues.length, 1);
  assert.equal(issues[0]!.path, 'services.web.xdoc');
  assert.match(issues[0]!.message, /unknown property "xdoc"/);
});

test('compound durations: 1m30s and 1h30m wherever a duration is accepted', () => {
  assert.equal(parseDuration('1m30s'), 90_000);
  assert.equal(parseDuration('1h30m'), 5_400_000);
  assert.equal(parseDuration('1h 30m 15s'), 5_415_000);
  assert.equal(parseDuration('1s500ms'), 1500);
  assert.equal(parseDuration('90'), 90_000);
  assert.throws(() => parseDuration('1m30'), RangeError);
  assert.throws(() => parseDuration('m30s'), RangeError);
  // The CLI's flags (--ttl, --since) take them too, and still want a unit.
  assert.equal(parseCliDuration('1h30m'), 5_400_000);
  assert.throws(() => parseCliDuration('90'), /expected a number and a unit/);
  assert.throws(() => parseCliDuration('400d'), /at most 365d/);
  const c = parseConfig(
    `services:
  web:
    provider: { process: { command: ["node"], start_timeout: 1m30s } }
    scaling: { interval: 1m30s, behavior: { scale_down: { stabilization: 2m30s } } }
    traffic: { timeouts: { response: 1h30m } }
`,
    'luascale.yaml',
    {},
  );
  const s = scalingFromConfig(c, 'web', '/');
  assert.equal(s.intervalMs, 90_000);
  assert.equal(s.behavior.scaleDown.stabilizationMs, 150_000);
  assert.equal(parseDuration(c.services.web!.traffic!.timeouts!.response), 5_400_000);
});

test('a quoted whole "${VAR}" is typed like an unquoted one, by what the key takes', () => {
  const env = { MAX: '7', MIN: '2', VALIDATE: 'true', PORT_VAR: 'APP_PORT', LEVEL: '3' };
  const c = parseConfig(
    `services:
  web:
    validate_requests: "\${VALIDATE}"
    provider:
      process:
        command: ["node"]
        port_env: "\${PORT_VAR}"
        env:
          LEVEL: "\${LEVEL}"
          RAW: \${LEVEL}
    scaling:
      min: \${MIN}
      max: "\${MAX}"
      params: { target: "\${MAX}" }
    traffic: { queue: { timeout: "\${MAX:-1}" } }
`,
    'luascale.yaml',
    env,
  );
  const web = c.services.web!;
  assert.equal(web.scaling.max, 7);
  assert.equal(web.scaling.min, 2);
  assert.equal(web.validate_requests, true);
  assert.deepEqual(web.scaling.params, { target: 7 });
  assert.ok('process' in web.provider);
  if ('process' in web.provider) {
    assert.equal(web.provider.process.port_env, 'APP_PORT');
    // env values are strings whether quoted or not.
    assert.deepEqual(web.provider.process.env, { LEVEL: '3', RAW: '3' });
  }
  assert.equal(parseDuration(web.traffic!.queue!.timeout), 7000);
  // A reference inside a longer string stays text.
  const d = parseConfig(
    `services:
  web:
    provider: { process: { command: ["node", "--max=\${MAX}"] } }
`,
    'luascale.yaml',
    env,
  );
  const p = d.services.web!.provider;
  assert.ok('process' in p && p.process.command[1] === '--max=7');
});

test('validation messages state the rule, never the description or a regex', () => {
  const issues = issuesOf(`services:
  web:
    provider:
      process: { command: ["node"], health_path: healthz, start_timeout: 5x }
    routes: [{ path: users, methods: [get] }]
    traffic: { rate_limit: { rps: 1, key: cookie, algorithm: leaky } }
    balancer: { hash_key: query }
  Web:
    provider: { static: { targets: ["ftp://x"] } }
store: { redis: "localhost:6379" }
gateway: { listen: "8080" }
`);
  const by = new Map(issues.map((i) => [i.path, i.message]));
  const expectations: Record<string, RegExp> = {
    'services.web.provider.process.health_path': /^"healthz" is not valid: must start with "\/"$/,
    'services.web.provider.process.start_timeout':
      /^"5x" is not valid: must be a duration such as 250ms, 15s, 5m, 1h or 1m30s, or a number of seconds$/,
    'services.web.routes.0.path': /^"users" is not valid: must start with "\/"$/,
    'services.web.routes.0.methods.0': /^"get" is not valid: must be an HTTP method in capitals/,
    'services.web.traffic.rate_limit.key':
      /^"cookie" is not valid: must be ip, route, global, api_key, consumer or header:<name>/,
    'services.web.traffic.rate_limit.algorithm':
      /^must be one of "token-bucket", "sliding-window", got string "leaky"$/,
    'services.web.balancer.hash_key': /^"query" is not valid: must be ip, header:<name> or cookie:<name>$/,
    'services.Web': /^bad name "Web": a service name must be lowercase letters/,
    'store.redis': /^"localhost:6379" is not valid: must be a URL starting with redis:\/\/ or rediss:\/\//,
    'gateway.listen': /^"8080" is not valid: must be host:port/,
  };
  for (const [path, rule] of Object.entries(expectations)) assert.match(by.get(path) ?? '(none)', rule, path);
  for (const i of issues) {
    assert.doesNotMatch(i.message, /Readiness probe path|\^|\$|\\\\|must match/, `${i.path}: ${i.message}`);
  }
});

test('every pattern in the schema has its rule in words', () => {
  const missing: string[] = [];
  const walk = (s: any, path: string) => {
    if (!s || typeof s !== 'object') return;
    if (Array.isArray(s)) return s.forEach((v, i) => walk(v, `${path}/${i}`));
    if (typeof s.pattern === 'string' && !s.patternErrorMessage) missing.push(path);
    // A map whose names have a pattern says the rule for the names.
    const names = Object.keys(s.patternProperties ?? {}).filter((p) => p !== '^x-' && p !== '^(.*)$');
    if (names.length > 0 && !s.patternErrorMessage) missing.push(`${path} (names)`);
    for (const [k, v] of Object.entries(s)) if (typeof v === 'object') walk(v, `${path}/${k}`);
  };
  walk(ConfigInputSchema, '');
  assert.deepEqual(missing, []);
});
