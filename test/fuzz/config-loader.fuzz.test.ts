/**
 * Fuzz: parseConfig on random YAML/JSON shapes, mutated valid configs and alias bombs. Whatever
 * the text, it returns a Config or throws a LuascaleError (one clear message), and never hangs.
 * Seeds are fixed (in the test names) so a failure replays exactly.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { parseConfig } from '../../src/config/load-config.js';
import { isLuascaleError } from '../../src/core/errors.js';

const SEED = 0x15ca1e;
const VALID = {
  gateway: { listen: '127.0.0.1:8080', access_log: 'off' },
  admin: { listen: '127.0.0.1:9090', token: 's3cret-token' },
  store: { sqlite: './ls.db' },
  services: {
    web: {
      routes: [{ path_prefix: '/' }],
      provider: { process: { command: ['node', 'server.js'], env: { A: '1' } } },
      scaling: {
        min: 1,
        max: 5,
        interval: '1s',
        policy: { builtin: 'target-tracking', params: { metric: 'rps', target: 10 } },
      },
      traffic: { rate_limit: { rps: 10, burst: 20, key: 'ip' }, queue: { max: 10, timeout: '1s' } },
    },
  },
};

/** Only LuascaleError may escape, and each call must finish quickly (no catastrophic regex, no alias blow-up). */
function check(text: string): void {
  const t0 = performance.now();
  try {
    parseConfig(text, 'fuzz.yaml', {});
  } catch (err) {
    assert.ok(
      isLuascaleError(err),
      `non-LuascaleError for ${JSON.stringify(text).slice(0, 300)}: ${(err as Error)?.stack}`,
    );
    assert.ok(!String((err as Error).message).includes('\n    at '), 'no stack trace in the message');
  }
  const ms = performance.now() - t0;
  assert.ok(ms < 2000, `parseConfig took ${ms.toFixed(0)} ms on ${JSON.stringify(text).slice(0, 200)}`);
}

const leaf = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.constantFrom(
    '1s',
    '-1s',
    '1e999',
    'NaN',
    '9999999999999999999d',
    '${NOPE}',
    '${HOME}',
    '127.0.0.1:0',
    '[::1]:80',
    '__proto__',
    'constructor',
  ),
);
const shape = fc.letrec((tie) => ({
  node: fc.oneof(
    { depthSize: 'small' },
    leaf,
    fc.array(tie('node'), { maxLength: 4 }),
    fc.dictionary(
      fc.oneof(
        fc.string({ maxLength: 8 }),
        fc.constantFrom(
          '__proto__',
          'services',
          'scaling',
          'min',
          'max',
          'policy',
          'provider',
          'routes',
          'traffic',
        ),
      ),
      tie('node'),
      { maxKeys: 5 },
    ),
  ),
})).node;

/** Sets a random path of the valid config to a random value. */
function mutate(path: readonly string[], value: unknown): unknown {
  const copy = structuredClone(VALID) as any;
  let o = copy;
  for (const k of path.slice(0, -1)) {
    if (o[k] === null || typeof o[k] !== 'object') o[k] = {};
    o = o[k];
  }
  o[path[path.length - 1]!] = value;
  return copy;
}
const paths = fc.constantFrom(
  ['gateway', 'listen'],
  ['admin', 'token'],
  ['store', 'sqlite'],
  ['services'],
  ['services', 'web'],
  ['services', 'web', 'scaling', 'min'],
  ['services', 'web', 'scaling', 'max'],
  ['services', 'web', 'scaling', 'interval'],
  ['services', 'web', 'scaling', 'policy'],
  ['services', 'web', 'scaling', 'policy', 'params'],
  ['services', 'web', 'provider'],
  ['services', 'web', 'provider', 'process', 'command'],
  ['services', 'web', 'routes'],
  ['services', 'web', 'routes', '0', 'path'],
  ['services', 'web', 'traffic', 'queue'],
  ['services', 'web', 'traffic', 'rate_limit', 'key'],
  ['services', 'web', 'health'],
  ['services', 'web', 'metrics'],
  ['services', 'web', 'alerts'],
);

test(`fuzz config loader: random YAML shapes (seed ${SEED}, 400 runs)`, () => {
  fc.assert(
    fc.property(shape, (v) => check(stringify(v))),
    { seed: SEED, numRuns: 400 },
  );
});

test(`fuzz config loader: mutated valid config, YAML and JSON (seed ${SEED + 1}, 600 runs)`, () => {
  fc.assert(
    fc.property(paths, shape, fc.boolean(), (p, v, json) => {
      const doc = mutate(p, v);
      check(json ? JSON.stringify(doc) : stringify(doc));
    }),
    { seed: SEED + 1, numRuns: 600 },
  );
});

test(`fuzz config loader: random text, truncations and byte noise (seed ${SEED + 2}, 400 runs)`, () => {
  const base = stringify(VALID);
  fc.assert(
    fc.property(
      fc.oneof(
        fc.string({ maxLength: 200 }),
        fc.nat(base.length).map((n) => base.slice(0, n)),
        fc
          .tuple(fc.nat(base.length), fc.string({ minLength: 1, maxLength: 5 }))
          .map(([i, s]) => base.slice(0, i) + s + base.slice(i)),
      ),
      check,
    ),
    { seed: SEED + 2, numRuns: 400 },
  );
});

test('config loader: alias bombs, deep nesting, tags and duplicate keys are refused quickly with a LuascaleError', () => {
  const bomb = [
    'a: &a ["x","x","x","x","x","x","x","x","x","x"]',
    ...Array.from(
      { length: 8 },
      (_, i) =>
        `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(10)
          .fill('*' + String.fromCharCode(97 + i))
          .join(',')}]`,
    ),
    'services: *i',
  ].join('\n');
  for (const text of [
    bomb,
    '['.repeat(5000),
    '{a: '.repeat(3000),
    '!!js/function "x"',
    'services: !!binary AAAA',
    'a: 1\na: 2',
    '\u0000\u0001',
    'services:\n  web: &w\n    x: *w',
  ])
    check(text);
});

test('regression (fuzz seed 1427999): a service named "" skipped validation and crashed with a TypeError', () => {
  assert.throws(
    () => parseConfig('services:\n  "": {}\n', 'fuzz.yaml', {}),
    (err) =>
      isLuascaleError(err, 'LS_ERR_CONFIG_INVALID') &&
      /services\.: bad name "": a service name must be lowercase/.test(err.message),
  );
  assert.throws(
    () =>
      parseConfig(
        'services:\n  Web: { provider: { static: { targets: ["http://127.0.0.1:1"] } } }\n',
        'fuzz.yaml',
        {},
      ),
    (err) => isLuascaleError(err, 'LS_ERR_CONFIG_INVALID') && /bad name "Web"/.test(err.message),
  );
});

test('regression (fuzz seed 1428000): an unresolved YAML alias or an alias bomb threw a bare ReferenceError', () => {
  assert.throws(
    () => parseConfig('a: *x\n', 'fuzz.yaml', {}),
    (err) =>
      isLuascaleError(err, 'LS_ERR_CONFIG_PARSE') && /fuzz\.yaml:1.*Unresolved alias/.test(err.message),
  );
  const bomb =
    'a: &a [x,x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\n';
  assert.throws(
    () => parseConfig(bomb, 'fuzz.yaml', {}),
    (err) => isLuascaleError(err, 'LS_ERR_CONFIG_PARSE') && /alias/i.test(err.message),
  );
});
