import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createMetricSources } from '../../src/app/metric-sources-from-config.js';
import { isLuascaleError } from '../../src/core/errors.js';

test('builds one source per config entry, in order, with the configured timeout as backstop', () => {
  const sources = createMetricSources('api', [
    {
      name: 'queue',
      http: { url: 'http://127.0.0.1:1/q', json_path: '$.depth' },
      interval: '5s',
      timeout: '2s',
    },
    {
      name: 'rps',
      prometheus: { url: 'http://127.0.0.1:9090', query: 'sum(rate(x[1m]))' },
      interval: 10,
      timeout: '500ms',
    },
  ]);
  assert.deepEqual(
    sources.map((s) => [s.name, s.timeoutMs]),
    [
      ['queue', 2250],
      ['rps', 750],
    ],
  );
  assert.deepEqual(createMetricSources('api', undefined), []);
});

test('config mistakes are one-line LS_ERR_CONFIG_INVALID errors naming the entry', () => {
  const cases: Array<[unknown, RegExp]> = [
    [
      { name: 'q', interval: '5s', timeout: '2s' },
      /^services\.api\.metrics\[0\] \(q\): set exactly one of `http` or `prometheus`$/,
    ],
    [
      {
        name: 'q',
        http: { url: 'http://h', json_path: 'a' },
        prometheus: { url: 'http://h', query: 'up' },
        interval: '5s',
        timeout: '2s',
      },
      /exactly one of/,
    ],
    [
      { name: 'q', http: { url: 'http://h', json_path: 'a[*]' }, interval: '5s', timeout: '2s' },
      /^services\.api\.metrics\[0\] \(q\): bad JSON path "a\[\*\]" at column 2/,
    ],
    [
      { name: 'q', http: { url: 'h:/x y', json_path: 'a' }, interval: '5s', timeout: '2s' },
      /\(q\): url "h:\/x y" is not a valid absolute URL|got h:/,
    ],
    [
      { name: 'q', prometheus: { url: 'ftp://h', query: 'up' }, interval: '5s', timeout: '2s' },
      /\(q\): url must be http:\/\/ or https:\/\/, got ftp:/,
    ],
    [
      { name: 'q', http: { url: 'http://h', json_path: 'a' }, interval: 0, timeout: '2s' },
      /\(q\): interval must be > 0/,
    ],
    [
      { name: 'q', http: { url: 'http://h', json_path: 'a' }, interval: '1s', timeout: '0ms' },
      /\(q\): timeout must be > 0/,
    ],
  ];
  for (const [c, re] of cases) {
    assert.throws(
      () => createMetricSources('api', [c as never]),
      (err: unknown) =>
        isLuascaleError(err, 'LS_ERR_CONFIG_INVALID') && re.test(err.message) && !err.message.includes('\n'),
      `expected ${re} for ${JSON.stringify(c)}`,
    );
  }
  assert.throws(
    () =>
      createMetricSources('api', [
        { name: 'q', http: { url: 'http://h', json_path: 'a' }, interval: '1s', timeout: '1s' },
        { name: 'q', prometheus: { url: 'http://h', query: 'up' }, interval: '1s', timeout: '1s' },
      ]),
    /: services\.api\.metrics\[1\] \(q\): duplicate metric name "q"$/,
  );
});
