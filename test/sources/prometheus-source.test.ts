import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import { instantQueryUrl, instantQueryValue, prometheusSource } from '../../src/sources/prometheus-source.js';
import { httpSubject, metricSourceContract } from './metric-source-contract.js';

const ok = (resultType: string, result: unknown) => ({ status: 'success', data: { resultType, result } });
const sample = (v: string, metric: Record<string, string> = {}) => ({ metric, value: [1700000000.123, v] });

test('builds the instant-query URL under any path prefix', () => {
  const u = instantQueryUrl('http://prom:9090/prefix/', 'sum(rate(x[5s]))', 1500);
  assert.equal(u.pathname, '/prefix/api/v1/query');
  assert.equal(u.searchParams.get('query'), 'sum(rate(x[5s]))');
  assert.equal(u.searchParams.get('timeout'), '1500ms');
  assert.equal(instantQueryUrl('http://prom:9090', 'up').pathname, '/api/v1/query');
});

test('a scalar or a one-element vector is a number; anything else says what it was', () => {
  assert.equal(instantQueryValue(ok('scalar', [1, '4.5'])), 4.5);
  assert.equal(instantQueryValue(ok('vector', [sample('12')])), 12);
  assert.throws(() => instantQueryValue(ok('vector', [])), /no series \(empty vector\)/);
  assert.throws(
    () => instantQueryValue(ok('vector', [sample('1', { a: '1' }), sample('2', { a: '2' })])),
    /returned 2 series \(\{"a":"1"\}, \{"a":"2"\}\); aggregate it to one, e\.g\. sum/,
  );
  assert.throws(
    () => instantQueryValue(ok('matrix', [])),
    /returned a matrix; expected a scalar or a one-element vector/,
  );
  assert.throws(() => instantQueryValue(ok('vector', [sample('NaN')])), /returned NaN, not a finite number/);
  assert.throws(() => instantQueryValue(ok('scalar', [1, '+Inf'])), /\+Inf/);
  assert.throws(
    () => instantQueryValue({ status: 'error', errorType: 'bad_data', error: 'parse error' }),
    /Prometheus error \(bad_data\): parse error/,
  );
  assert.throws(() => instantQueryValue([1]), /not a Prometheus API success object/);
  assert.throws(() => instantQueryValue(null), /not a Prometheus API object/);
});

test('reads through HTTP, passes Prometheus errors on, caches for the interval', async () => {
  const seen: string[] = [];
  const server: Server = createServer((req, res) => {
    const u = new URL(req.url!, 'http://x');
    seen.push(`${req.method} ${u.pathname} ${u.searchParams.get('query')}`);
    const q = u.searchParams.get('query');
    res.setHeader('content-type', 'application/json');
    if (q === 'sum(') {
      res.statusCode = 400;
      res.end(
        JSON.stringify({
          status: 'error',
          errorType: 'bad_data',
          error: '1:5: parse error: unclosed left parenthesis',
        }),
      );
    } else if (q === 'down') {
      res.statusCode = 503;
      res.end('Service Unavailable');
    } else {
      res.end(JSON.stringify(ok('vector', [sample(String(seen.length))])));
    }
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const base = `http://127.0.0.1:${(server.address() as { port: number }).port}/prom`;
  try {
    const s = prometheusSource({
      name: 'rps',
      url: base,
      query: 'sum(rate(x[1m]))',
      intervalMs: 2000,
      timeoutMs: 1000,
    });
    assert.equal(await s.read(0), 1);
    assert.equal(await s.read(1999), 1);
    assert.equal(await s.read(2000), 2);
    assert.deepEqual(seen, [
      'GET /prom/api/v1/query sum(rate(x[1m]))',
      'GET /prom/api/v1/query sum(rate(x[1m]))',
    ]);
    const bad = prometheusSource({
      name: 'bad',
      url: base,
      query: 'sum(',
      intervalMs: 1000,
      timeoutMs: 1000,
    });
    await assert.rejects(bad.read(0), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'LS_ERR_SOURCE_FAILED');
      assert.match(
        err.message,
        /^metric source "bad" \(Prometheus http:\/\/127\.0\.0\.1:\d+\/prom, query sum\(\): Prometheus error \(bad_data\): 1:5: parse error/,
      );
      return true;
    });
    const down = prometheusSource({
      name: 'down',
      url: base,
      query: 'down',
      intervalMs: 1000,
      timeoutMs: 1000,
    });
    await assert.rejects(down.read(0), /metric source "down" .*answered HTTP 503: Service Unavailable/);
  } finally {
    server.closeAllConnections();
    server.close();
  }
});

metricSourceContract(
  'prometheus',
  ({ name, intervalMs }) =>
    httpSubject(
      (url) => prometheusSource({ name, url, query: 'sum(queue_depth)', intervalMs, timeoutMs: 2000 }),
      (value, req, res) => {
        assert.equal(new URL(req.url ?? '/', 'http://x').pathname, '/api/v1/query');
        res.setHeader('content-type', 'application/json');
        if (value === undefined) {
          res.statusCode = 422;
          res.end(JSON.stringify({ status: 'error', errorType: 'execution', error: 'query timed out' }));
          return;
        }
        res.end(JSON.stringify(ok('vector', [sample(String(value))])));
      },
    ),
  { namesItselfInErrors: true },
);
