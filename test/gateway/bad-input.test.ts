/**
 * Bad input over raw sockets: smuggling shapes, invalid Host, oversized headers, slow requests,
 * oversized bodies, garbage, and malformed, hung or dead upstreams. None may crash the process or
 * mix two clients' responses.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { once } from 'node:events';
import { echo, errorCode, raw, request, startGateway, startUpstream, type Upstream } from './helpers.js';
import type { Gateway } from '../../src/gateway/gateway.js';

let up: Upstream;
let gw: Gateway;
let port: number;
let seenByUpstream = 0;
const servers: net.Server[] = [];

async function tcpServer(onConn: (s: net.Socket) => void): Promise<number> {
  const s = net.createServer(onConn);
  s.listen(0, '127.0.0.1');
  await once(s, 'listening');
  servers.push(s);
  return (s.address() as net.AddressInfo).port;
}

before(async () => {
  const e = echo();
  up = await startUpstream((req, res) => {
    seenByUpstream++;
    const delay = Number(new URL(req.url!, 'http://x').searchParams.get('delay') ?? 0);
    if (delay)
      setTimeout(() => e(req, res), delay); // the upstream's own latency, part of the scenario
    else e(req, res);
  });
  const garbage = await tcpServer((s) => {
    s.on('data', () => s.end('THIS IS NOT HTTP\r\n\r\n'));
    s.on('error', () => {});
  });
  const hung = await tcpServer((s) => s.on('error', () => {})); // accepts and never answers
  const midway = await tcpServer((s) => {
    s.on('error', () => {});
    s.on('data', () => {
      s.write('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial');
      s.destroy();
    });
  });
  const dead = await tcpServer(() => {});
  const deadPort = (servers.at(-1)!.address() as net.AddressInfo).port;
  await new Promise<void>((r) => servers.pop()!.close(() => r()));
  void dead;
  ({ gw, port } = await startGateway({
    request_timeout: 400,
    headers_timeout: 400,
    max_header_bytes: 4096,
    services: {
      good: {
        routes: [{ path_prefix: '/' }],
        traffic: { max_body: 1024 },
        instances: [{ id: 'echo', url: up.url }],
      },
      garbage: {
        routes: [{ path_prefix: '/garbage' }],
        instances: [{ id: 'g', url: `http://127.0.0.1:${garbage}` }],
      },
      hung: {
        routes: [{ path_prefix: '/hung', timeouts: { response: 200 } }],
        instances: [{ id: 'h', url: `http://127.0.0.1:${hung}` }],
      },
      midway: {
        routes: [{ path_prefix: '/midway' }],
        instances: [{ id: 'm', url: `http://127.0.0.1:${midway}` }],
      },
      dead: {
        routes: [{ path_prefix: '/dead' }],
        traffic: { retries: { budget_percent: 0 } },
        instances: [{ id: 'd', url: `http://127.0.0.1:${deadPort}` }],
      },
      only: {
        routes: [{ host: 'only.test', path: '/x', methods: ['GET'] }],
        instances: [{ id: 'echo', url: up.url }],
      },
    },
  }));
});

after(async () => {
  await gw.close({ graceMs: 100 });
  await up.close();
  for (const s of servers) s.close();
});

function status(rawResponse: string): number {
  return Number(/^HTTP\/1\.1 (\d{3})/.exec(rawResponse)?.[1]);
}
function body(rawResponse: string): string {
  return rawResponse.slice(rawResponse.indexOf('\r\n\r\n') + 4);
}

test('Content-Length with Transfer-Encoding (CL.TE smuggling) gets 400 and never reaches the upstream', async () => {
  const before = seenByUpstream;
  const out = await raw(
    port,
    'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n',
  );
  assert.equal(status(out), 400);
  assert.equal(errorCode(body(out)), 'LS_ERR_GATEWAY_BAD_REQUEST');
  assert.equal(out.match(/HTTP\/1\.1/g)!.length, 1, 'the smuggled request is not answered');
  assert.equal(seenByUpstream, before);
});

test('duplicated Content-Length (equal or different) gets 400', async () => {
  for (const cl of ['3\r\nContent-Length: 3', '3\r\nContent-Length: 4']) {
    const out = await raw(port, `POST / HTTP/1.1\r\nHost: a\r\nContent-Length: ${cl}\r\n\r\nabc`);
    assert.equal(status(out), 400, out);
  }
});

test('invalid, duplicated or missing Host gets 400 (RFC 9112 §3.2)', async () => {
  for (const head of ['Host: a b\r\n', 'Host: a\r\nHost: b\r\n', 'Host: a/b\r\n', '']) {
    const out = await raw(port, `GET / HTTP/1.1\r\n${head}Connection: close\r\n\r\n`);
    assert.equal(status(out), 400, JSON.stringify(head));
  }
});

test('oversized headers get 431 with a JSON body', async () => {
  const out = await raw(port, `GET / HTTP/1.1\r\nHost: a\r\nX-Big: ${'x'.repeat(8000)}\r\n\r\n`);
  assert.equal(status(out), 431);
  assert.equal(errorCode(body(out)), 'LS_ERR_GATEWAY_HEADERS_TOO_LARGE');
});

test('a request whose headers never finish gets 408', async () => {
  const out = await raw(port, 'GET / HTTP/1.1\r\nHost: a\r\n'); // no blank line: the head never ends
  assert.equal(status(out), 408);
  assert.equal(errorCode(body(out)), 'LS_ERR_GATEWAY_REQUEST_TIMEOUT');
});

test('a body over max_body gets 413, by Content-Length or once a chunked body grows past it', async () => {
  const big = await request(port, { method: 'POST', path: '/', body: 'x'.repeat(2000) });
  assert.equal(big.status, 413);
  assert.equal(errorCode(big.body), 'LS_ERR_GATEWAY_BODY_TOO_LARGE');
  const chunked = await new Promise<{ status: number; body: string }>((resolve) => {
    const req = http.request(
      { host: '127.0.0.1', port, method: 'POST', path: '/?delay=50', agent: false },
      (res) => {
        let b = '';
        res.on('data', (c) => (b += c));
        res.on('end', () => resolve({ status: res.statusCode!, body: b }));
      },
    );
    req.on('error', () => {});
    for (let i = 0; i < 4; i++) req.write('y'.repeat(512));
    req.end();
  });
  assert.equal(chunked.status, 413);
  const ok = await request(port, { method: 'POST', path: '/', body: 'x'.repeat(1000) });
  assert.equal(ok.status, 200);
});

test('garbage bytes get 400 and the gateway keeps serving', async () => {
  const out = await raw(port, '\x00\x01\x02 junk junk\r\n\r\n');
  assert.equal(status(out), 400);
  const out2 = await raw(port, 'GET / HTTP/9.9\r\nHost: a\r\n\r\n');
  assert.ok(status(out2) >= 400 && status(out2) < 600);
  assert.equal((await request(port, { path: '/' })).status, 200);
});

test('unmatched requests get 404 with the LS_ERR_GATEWAY_NO_ROUTE JSON body', async () => {
  const r = await request(port, { path: '/x', method: 'POST', headers: { host: 'only.test' } });
  // POST does not match the GET-only host route; the host-less catch-all does.
  assert.equal(r.status, 200);
  const g = await request(port, { path: '/x', headers: { host: 'only.test' } });
  assert.equal(g.status, 200);
  const gwOnly = await startGateway({
    services: { s: { routes: [{ path: '/only' }], instances: [{ id: 'e', url: up.url }] } },
  });
  try {
    const n = await request(gwOnly.port, { path: '/nope?q=1' });
    assert.equal(n.status, 404);
    assert.deepEqual(JSON.parse(n.body).error.code, 'LS_ERR_GATEWAY_NO_ROUTE');
    assert.match(JSON.parse(n.body).error.message, /GET \/nope/);
    assert.equal(n.headers['content-type'], 'application/json');
  } finally {
    await gwOnly.gw.close({ graceMs: 10 });
  }
});

test('a malformed upstream response gets 502 JSON', async () => {
  const r = await request(port, { path: '/garbage' });
  assert.equal(r.status, 502);
  assert.equal(errorCode(r.body), 'LS_ERR_GATEWAY_UPSTREAM_ERROR');
});

test('a hung upstream gets 504 JSON after the route response timeout', async () => {
  const r = await request(port, { path: '/hung' });
  assert.equal(r.status, 504);
  assert.equal(errorCode(r.body), 'LS_ERR_GATEWAY_UPSTREAM_TIMEOUT');
  assert.match(JSON.parse(r.body).error.message, /200 ms/);
});

test('a refused connection gets 502 JSON', async () => {
  const r = await request(port, { path: '/dead' });
  assert.equal(r.status, 502);
  assert.match(JSON.parse(r.body).error.message, /ECONNREFUSED/);
});

test('an upstream dying mid-body cuts the client connection instead of completing a wrong response', async () => {
  const outcome = await new Promise<string>((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/midway', agent: false }, (res) => {
      res.on('data', () => {});
      res.on('end', () => resolve('complete'));
      res.on('error', () => resolve('aborted'));
      res.on('aborted', () => resolve('aborted'));
    });
    req.on('error', () => resolve('aborted'));
  });
  assert.equal(outcome, 'aborted');
});

test('pipelined requests on one connection are answered in order, each with its own body', async () => {
  const out = await raw(
    port,
    'GET /first?delay=80 HTTP/1.1\r\nHost: a\r\n\r\nGET /second HTTP/1.1\r\nHost: a\r\n\r\nGET /third?delay=10 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n',
  );
  const urls = [...out.matchAll(/"url":"([^"]+)"/g)].map((m) => m[1]);
  assert.deepEqual(urls, ['/first?delay=80', '/second', '/third?delay=10']);
});

test('concurrent clients each get their own response', async () => {
  const n = 40;
  const results = await Promise.all(
    Array.from({ length: n }, (_, i) =>
      request(port, { path: `/client-${i}?delay=${(i * 7) % 30}`, headers: { 'x-request-id': `rid-${i}` } }),
    ),
  );
  results.forEach((r, i) => {
    const seen = JSON.parse(r.body) as { url: string; headers: Record<string, string> };
    assert.equal(seen.url, `/client-${i}?delay=${(i * 7) % 30}`);
    assert.equal(r.headers['x-request-id'], `rid-${i}`);
  });
});

test('absolute-form request targets are reduced to origin-form', async () => {
  const out = await raw(
    port,
    'GET http://a.test/abs?x=1 HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n',
  );
  assert.equal(status(out), 200);
  assert.match(out, /"url":"\/abs\?x=1"/);
});
