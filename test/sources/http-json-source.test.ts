import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { once } from 'node:events';
import { httpJsonSource } from '../../src/sources/http-json-source.js';
import { httpSubject, metricSourceContract } from './metric-source-contract.js';

async function serve(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<{ server: Server; url: string }> {
  const server = createServer(handler);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, url: `http://127.0.0.1:${(server.address() as { port: number }).port}` };
}

function close(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((r) => server.close(() => r()));
}

test('GETs the URL, picks the number, and caches it for the interval', async () => {
  let hits = 0;
  let depth = 3;
  const { server, url } = await serve((req, res) => {
    hits++;
    assert.equal(req.method, 'GET');
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ queue: { depth } }));
  });
  try {
    const s = httpJsonSource({
      name: 'queue',
      url: `${url}/stats`,
      jsonPath: '$.queue.depth',
      intervalMs: 5000,
      timeoutMs: 1000,
    });
    assert.equal(s.name, 'queue');
    assert.equal(s.timeoutMs, 1250);
    assert.equal(await s.read(10_000), 3);
    depth = 9;
    // A 1 s tick does not hammer a 5 s source: four more reads, still one request.
    for (const t of [11_000, 12_000, 13_000, 14_999]) assert.equal(await s.read(t), 3);
    assert.equal(hits, 1);
    assert.equal(await s.read(15_000), 9);
    assert.equal(hits, 2);
    // Concurrent reads share one fetch.
    depth = 4;
    const both = await Promise.all([s.read(20_000), s.read(20_000)]);
    assert.deepEqual(both, [4, 4]);
    assert.equal(hits, 3);
  } finally {
    await close(server);
  }
});

test('errors name the source, the URL (without credentials) and the path; errors are cached too', async () => {
  let hits = 0;
  const answers: Array<(res: ServerResponse) => void> = [
    (res) => {
      res.statusCode = 503;
      res.end('busy');
    },
    (res) => res.end('{not json'),
    (res) => res.end(JSON.stringify({ queue: {} })),
    (res) => {
      res.statusCode = 500;
      res.end();
    },
  ];
  const { server, url } = await serve((_req, res) => answers[hits++]!(res));
  try {
    const u = url.replace('http://', 'http://user:secret@');
    const s = httpJsonSource({
      name: 'queue',
      url: `${u}/q`,
      jsonPath: 'queue.depth',
      intervalMs: 1000,
      timeoutMs: 1000,
    });
    const prefix = `metric source "queue" \\(GET http://\\*\\*\\*@127\\.0\\.0\\.1:\\d+/q, path \\$\\.queue\\.depth\\): `;
    await assert.rejects(s.read(0), new RegExp(prefix + 'answered HTTP 503: busy'));
    await assert.rejects(s.read(500), /HTTP 503/);
    assert.equal(hits, 1);
    await assert.rejects(s.read(1000), new RegExp(prefix + 'answered with invalid JSON'));
    await assert.rejects(s.read(2000), new RegExp(prefix + '\\$\\.queue\\.depth: no such member'));
    await assert.rejects(
      s.read(3000),
      (err: Error) => /answered HTTP 500$/.test(err.message) && !err.message.includes('secret'),
    );
    assert.equal(hits, 4);
  } finally {
    await close(server);
  }
});

test('a hung endpoint fails after the timeout, with a clear message', async () => {
  const { server, url } = await serve(() => {
    /* never answers */
  });
  try {
    const s = httpJsonSource({ name: 'slow', url, jsonPath: '$.v', intervalMs: 1000, timeoutMs: 150 });
    const t0 = performance.now();
    await assert.rejects(s.read(0), /metric source "slow" .*: no answer within 150 ms/);
    const took = performance.now() - t0;
    assert.ok(took >= 140 && took < 1000, `took ${took} ms`);
  } finally {
    await close(server);
  }
});

test('a connection refused and an oversized body are errors, not crashes', async () => {
  const { server, url } = await serve((_req, res) => {
    res.write('[');
    const chunk = '1,'.repeat(64 * 1024);
    for (let i = 0; i < 10; i++) res.write(chunk);
    res.end('1]');
  });
  try {
    const big = httpJsonSource({ name: 'big', url, jsonPath: '[0]', intervalMs: 1000, timeoutMs: 2000 });
    await assert.rejects(big.read(0), /larger than 1048576 bytes/);
  } finally {
    await close(server);
  }
  const gone = httpJsonSource({ name: 'gone', url, jsonPath: '$.v', intervalMs: 1000, timeoutMs: 1000 });
  await assert.rejects(gone.read(0), /metric source "gone" .*ECONNREFUSED/);
});

test('bad URL or path fails at creation', () => {
  assert.throws(
    () => httpJsonSource({ name: 'x', url: 'not a url', jsonPath: '$.a', intervalMs: 1, timeoutMs: 1 }),
    /url "not a url" is not a valid absolute URL/,
  );
  assert.throws(
    () =>
      httpJsonSource({ name: 'x', url: 'file:///etc/passwd', jsonPath: '$.a', intervalMs: 1, timeoutMs: 1 }),
    /http:\/\/ or https:\/\/, got file:/,
  );
  assert.throws(
    () => httpJsonSource({ name: 'x', url: 'http://h/', jsonPath: '$.a[*]', intervalMs: 1, timeoutMs: 1 }),
    /bad JSON path/,
  );
});

metricSourceContract(
  'http-json',
  ({ name, intervalMs }) =>
    httpSubject(
      (url) =>
        httpJsonSource({ name, url: `${url}/stats`, jsonPath: '$.queue.depth', intervalMs, timeoutMs: 2000 }),
      (value, _req, res) => {
        if (value === undefined) {
          res.statusCode = 500;
          res.end('down');
          return;
        }
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ queue: { depth: value } }));
      },
    ),
  { namesItselfInErrors: true },
);
