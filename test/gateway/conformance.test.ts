/**
 * Conformance list over real sockets: streaming, SSE, WebSocket, hop-by-hop headers, forwarding
 * headers, 100 Continue, HEAD, empty body, large body (and chunked uploads).
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { echo, raw, request, startGateway, startUpstream, type Upstream } from './helpers.js';
import type { Gateway } from '../../src/gateway/gateway.js';

let up: Upstream;
let gw: Gateway;
let port: number;
// Per-test hooks the upstream handler consults.
const hooks = new Map<string, http.RequestListener>();

before(async () => {
  const fallback = echo();
  up = await startUpstream((req, res) => {
    const h = hooks.get(req.url!.split('?')[0]!);
    (h ?? fallback)(req, res);
  });
  up.server.on('upgrade', (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
    const key = req.headers['sec-websocket-key'] as string;
    const accept = createHash('sha1')
      .update(key + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11')
      .digest('base64');
    socket.write(
      `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\nX-Saw-Forwarded: ${req.headers['x-forwarded-for']}\r\n\r\n`,
    );
    if (head.length) socket.write(head);
    socket.pipe(socket); // echo every byte back
  });
  ({ gw, port } = await startGateway({
    services: { web: { routes: [{ path_prefix: '/' }], instances: [{ id: 'u1', url: up.url }] } },
  }));
});

after(async () => {
  await gw.close({ graceMs: 100 });
  await up.close();
});

test('streaming: each chunk reaches the client before the upstream writes the next (no buffering)', async () => {
  let next: (() => void) | undefined;
  hooks.set('/stream', (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    let i = 0;
    const write = (): void => {
      if (i === 3) return void res.end();
      res.write(`chunk${i++};`);
      next = write;
    };
    write();
  });
  const res = await new Promise<http.IncomingMessage>((resolve) =>
    http.get({ host: '127.0.0.1', port, path: '/stream', agent: false }, resolve),
  );
  const got: string[] = [];
  for await (const chunk of res) {
    got.push(String(chunk));
    next?.(); // the upstream only continues once the client has seen this chunk
  }
  assert.equal(got.join(''), 'chunk0;chunk1;chunk2;');
  assert.ok(got.length >= 3, 'chunks arrived separately');
});

test('SSE: events flow one by one and a client disconnect closes the upstream stream', async () => {
  let send: ((s: string) => void) | undefined;
  const upstreamClosed = new Promise<void>((resolve) => {
    hooks.set('/events', (req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      res.flushHeaders();
      send = (s) => res.write(s);
      res.on('close', () => resolve());
    });
  });
  const req = http.get({
    host: '127.0.0.1',
    port,
    path: '/events',
    agent: false,
    headers: { accept: 'text/event-stream' },
  });
  const [res] = (await once(req, 'response')) as [http.IncomingMessage];
  assert.equal(res.headers['content-type'], 'text/event-stream');
  for (const n of [1, 2, 3]) {
    send!(`data: token${n}\n\n`);
    const [chunk] = (await once(res, 'data')) as [Buffer];
    assert.equal(String(chunk), `data: token${n}\n\n`);
  }
  req.destroy();
  await upstreamClosed; // resolves only if the gateway aborted the upstream request
});

test('WebSocket: the upgrade handshake passes through and bytes flow both ways', async () => {
  const sock = net.connect(port, '127.0.0.1');
  await once(sock, 'connect');
  sock.write(
    'GET /ws HTTP/1.1\r\nHost: ws.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
      'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
  );
  let buf = '';
  while (!buf.includes('\r\n\r\n')) buf += String(((await once(sock, 'data')) as [Buffer])[0]);
  assert.match(buf, /^HTTP\/1\.1 101 /);
  assert.match(buf, /Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK\+xOo=/);
  assert.match(buf, /X-Saw-Forwarded: 127\.0\.0\.1/);
  sock.write('ping-frame-bytes');
  let echoed = buf.slice(buf.indexOf('\r\n\r\n') + 4);
  while (echoed.length < 16) echoed += String(((await once(sock, 'data')) as [Buffer])[0]);
  assert.equal(echoed, 'ping-frame-bytes');
  sock.destroy();
});

test('hop-by-hop: Connection-listed and hop-by-hop fields are stripped both ways', async () => {
  hooks.set('/hop', (req, res) => {
    res.writeHead(200, {
      connection: 'X-Upstream-Hop',
      'x-upstream-hop': '1',
      'x-end-to-end': '1',
      'x-seen': JSON.stringify(req.headers),
    });
    res.end();
  });
  const r = await request(port, {
    path: '/hop',
    headers: {
      connection: 'X-Client-Hop',
      'x-client-hop': 'secret',
      'keep-alive': 'timeout=1',
      te: 'trailers',
      'proxy-connection': 'x',
      'x-keep': 'yes',
    },
  });
  const seen = JSON.parse(r.headers['x-seen'] as string) as Record<string, string>;
  assert.equal(seen['x-client-hop'], undefined);
  assert.equal(seen['keep-alive'], undefined);
  assert.equal(seen['te'], undefined);
  assert.equal(seen['proxy-connection'], undefined);
  assert.equal(seen['x-keep'], 'yes');
  assert.equal(r.headers['x-upstream-hop'], undefined);
  assert.equal(r.headers['x-end-to-end'], '1');
});

test('forwarding headers: Via, X-Forwarded-*, Forwarded and a generated X-Request-Id', async () => {
  const r = await request(port, {
    path: '/fwd',
    headers: { host: 'shop.test:8080', 'x-forwarded-for': '6.6.6.6' },
  });
  const seen = JSON.parse(r.body) as { headers: Record<string, string> };
  assert.equal(seen.headers['via'], '1.1 luascale');
  assert.equal(seen.headers['x-forwarded-for'], '127.0.0.1', 'an untrusted client cannot inject an address');
  assert.equal(seen.headers['x-forwarded-proto'], 'http');
  assert.equal(seen.headers['x-forwarded-host'], 'shop.test:8080');
  assert.equal(seen.headers['forwarded'], 'for=127.0.0.1;host="shop.test:8080";proto=http');
  assert.equal(seen.headers['host'], 'shop.test:8080', 'Host is preserved');
  assert.ok(seen.headers['x-request-id']);
  assert.equal(r.headers['x-request-id'], seen.headers['x-request-id'], 'the response carries the same id');
  assert.equal(r.headers['via'], '1.1 luascale');
});

test('forwarding headers: an incoming X-Request-Id is propagated unchanged', async () => {
  const r = await request(port, { path: '/rid', headers: { 'x-request-id': 'trace-42' } });
  assert.equal(
    (JSON.parse(r.body) as { headers: Record<string, string> }).headers['x-request-id'],
    'trace-42',
  );
  assert.equal(r.headers['x-request-id'], 'trace-42');
});

test('100 Continue: the client gets 100 before sending its body, then the final response', async () => {
  const req = http.request({
    host: '127.0.0.1',
    port,
    method: 'PUT',
    path: '/upload',
    agent: false,
    headers: { expect: '100-continue', 'content-length': '5' },
  });
  req.flushHeaders();
  await once(req, 'continue');
  req.end('hello');
  const [res] = (await once(req, 'response')) as [http.IncomingMessage];
  let body = '';
  for await (const c of res) body += c;
  assert.equal(res.statusCode, 200);
  assert.equal((JSON.parse(body) as { bytes: number }).bytes, 5);
});

test('100 Continue: an upload over max_body is refused with 413 before any 100 is sent', async () => {
  const up2 = await startUpstream(echo());
  const small = await startGateway({
    services: {
      s: {
        routes: [{ path_prefix: '/' }],
        traffic: { max_body: 10 },
        instances: [{ id: 'u', url: up2.url }],
      },
    },
  });
  try {
    const out = await raw(
      small.port,
      'PUT /big HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 1000\r\n\r\n',
    );
    assert.match(out, /^HTTP\/1\.1 413 /);
    assert.doesNotMatch(out, /100 Continue/);
  } finally {
    await small.gw.close({ graceMs: 10 });
    await up2.close();
  }
});

test('HEAD: headers with the GET content-length, no body, and the connection stays usable', async () => {
  hooks.set('/head', (req, res) => {
    res.writeHead(200, { 'content-length': '1234', 'content-type': 'text/plain' });
    res.end(req.method === 'HEAD' ? undefined : 'x'.repeat(1234));
  });
  const out = await raw(
    port,
    'HEAD /head HTTP/1.1\r\nHost: a\r\n\r\nGET /rid HTTP/1.1\r\nHost: a\r\nX-Request-Id: second\r\nConnection: close\r\n\r\n',
  );
  const parts = out.split('HTTP/1.1 ');
  assert.equal(parts.length, 3, out);
  assert.match(parts[1]!, /^200 /);
  assert.match(parts[1]!, /content-length: 1234/i);
  assert.ok(parts[1]!.endsWith('\r\n\r\n'), 'HEAD response carries no body');
  assert.match(parts[2]!, /^200 /);
  assert.match(parts[2]!, /"x-request-id":"second"/);
});

test('empty body: POST with Content-Length 0 and a 204 response', async () => {
  const r = await request(port, { method: 'POST', path: '/empty', headers: { 'content-length': '0' } });
  assert.equal((JSON.parse(r.body) as { bytes: number }).bytes, 0);
  hooks.set('/nocontent', (_req, res) => {
    res.writeHead(204);
    res.end();
  });
  const n = await request(port, { method: 'DELETE', path: '/nocontent' });
  assert.equal(n.status, 204);
  assert.equal(n.body, '');
});

test('large body: 16 MiB up and 16 MiB down stream through intact', async () => {
  const size = 16 * 1024 * 1024;
  const block = Buffer.alloc(64 * 1024, 7);
  hooks.set('/big-up', (req, res) => {
    const h = createHash('sha256');
    let n = 0;
    req.on('data', (c: Buffer) => {
      n += c.length;
      h.update(c);
    });
    req.on('end', () => res.end(JSON.stringify({ n, sha: h.digest('hex') })));
  });
  hooks.set('/big-down', (_req, res) => {
    res.writeHead(200, { 'content-length': String(size) });
    let sent = 0;
    const pump = (): void => {
      while (sent < size) {
        sent += block.length;
        if (!res.write(block)) return void res.once('drain', pump);
      }
      res.end();
    };
    pump();
  });
  const expected = createHash('sha256');
  for (let i = 0; i < size / block.length; i++) expected.update(block);
  const want = expected.digest('hex');
  const up = await new Promise<string>((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/big-up',
        agent: false,
        headers: { 'content-length': String(size) },
      },
      (res) => {
        let b = '';
        res.on('data', (c) => (b += c));
        res.on('end', () => resolve(b));
      },
    );
    req.on('error', reject);
    let written = 0;
    const pump = (): void => {
      while (written < size) {
        written += block.length;
        if (!req.write(block)) return void req.once('drain', pump);
      }
      req.end();
    };
    pump();
  });
  assert.deepEqual(JSON.parse(up), { n: size, sha: want });
  const res = await new Promise<http.IncomingMessage>((resolve) =>
    http.get({ host: '127.0.0.1', port, path: '/big-down', agent: false }, resolve),
  );
  const h = createHash('sha256');
  let n = 0;
  for await (const c of res) {
    n += (c as Buffer).length;
    h.update(c as Buffer);
  }
  assert.equal(n, size);
  assert.equal(h.digest('hex'), want);
});

test('chunked upload: a body without Content-Length is streamed to the upstream intact', async () => {
  const r = await new Promise<string>((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, method: 'POST', path: '/chunked', agent: false },
      (res) => {
        let b = '';
        res.on('data', (c) => (b += c));
        res.on('end', () => resolve(b));
      },
    );
    req.on('error', reject);
    req.write('abc');
    req.write('defg');
    req.end('h');
  });
  const seen = JSON.parse(r) as { bytes: number; headers: Record<string, string> };
  assert.equal(seen.bytes, 8);
});
