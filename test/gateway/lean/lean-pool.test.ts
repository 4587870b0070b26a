/**
 * The lean client on its own (LeanPool driven with a recording dispatch handler): connection
 * reuse, Connection: close, the keep-alive race reported as undici reports it, the response
 * timeout and a refused connect.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import type { Dispatcher } from 'undici';
import { LeanPool } from '../../../src/gateway/lean/lean-pool.js';
import { startRawUpstream } from './upstream-corpus.js';

interface Outcome {
  status: number;
  body: string;
  error?: string;
}

/** Dispatches one request and resolves with what the handler saw. */
function send(pool: LeanPool, opts: Partial<Dispatcher.DispatchOptions>): Promise<Outcome> {
  return new Promise((resolve) => {
    let status = 0;
    let body = '';
    const handler = {
      onConnect() {},
      onHeaders(s: number) {
        status = s;
        return true;
      },
      onData(c: Buffer) {
        body += c.toString('latin1');
        return true;
      },
      onComplete() {
        resolve({ status, body });
      },
      onError(err: Error) {
        resolve({ status, body, error: (err as NodeJS.ErrnoException).code ?? err.message });
      },
    };
    pool.dispatch(
      { method: 'GET', path: '/', headers: ['host', 'x'], body: null, ...opts } as Dispatcher.DispatchOptions,
      handler as unknown as Dispatcher.DispatchHandler,
    );
  });
}

const OK = 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok';

test('lean pool: sequential requests share one keep-alive connection; Connection: close is not reused', async () => {
  const up = await startRawUpstream((path) =>
    path === '/close'
      ? {
          name: 'close',
          parts: ['HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok'],
          close: true,
        }
      : { name: 'ok', parts: [OK] },
  );
  let connections = 0;
  up.server.on('connection', () => connections++);
  const pool = new LeanPool({ host: '127.0.0.1', port: up.port, connections: 4 });
  try {
    for (let i = 0; i < 5; i++)
      assert.deepEqual(await send(pool, { path: '/a' }), { status: 200, body: 'ok' });
    assert.equal(connections, 1);
    assert.deepEqual(await send(pool, { path: '/close' }), { status: 200, body: 'ok' });
    assert.deepEqual(await send(pool, { path: '/a' }), { status: 200, body: 'ok' });
    assert.equal(connections, 2);
  } finally {
    await pool.destroy();
    await up.close();
  }
});

test('lean pool: a keep-alive connection closed under a request fails with UND_ERR_SOCKET (the forward stage retries within budget), the next one connects afresh', async () => {
  let drops = 0;
  let connections = 0;
  // The first request on a connection is answered; the second one finds the connection closed.
  const perConn = new WeakMap<net.Socket, number>();
  const server = net.createServer((sock) => {
    connections++;
    sock.on('error', () => {});
    sock.on('data', () => {
      const n = (perConn.get(sock) ?? 0) + 1;
      perConn.set(sock, n);
      if (n === 1) sock.write(OK);
      else {
        drops++;
        sock.destroy();
      }
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as net.AddressInfo).port;
  const pool = new LeanPool({ host: '127.0.0.1', port, connections: 1 });
  try {
    assert.deepEqual(await send(pool, {}), { status: 200, body: 'ok' });
    assert.equal((await send(pool, {})).error, 'UND_ERR_SOCKET');
    assert.equal(drops, 1);
    assert.deepEqual(await send(pool, {}), { status: 200, body: 'ok' });
    assert.equal(connections, 2);
  } finally {
    await pool.destroy();
    server.close();
  }
});

test('lean pool: onData returning false stops reads at the socket until resume() (the parser consumes the handle), then the whole body arrives', async () => {
  const size = 32 * 1024 * 1024; // far more than loopback socket buffers hold
  const server = net.createServer((sock) => {
    sock.on('error', () => {});
    sock.on('data', (d) => {
      if (d.includes('/big')) {
        sock.write(`HTTP/1.1 200 OK\r\nContent-Length: ${size}\r\n\r\n`);
        sock.write(Buffer.alloc(size, 0x61));
      } else sock.write(OK);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as net.AddressInfo).port;
  const pool = new LeanPool({ host: '127.0.0.1', port, connections: 2 });
  try {
    let received = 0;
    let calls = 0;
    let resume: (() => void) | undefined;
    let paused!: () => void;
    const pausedAt = new Promise<void>((r) => (paused = r));
    const done = new Promise<string>((resolve) => {
      pool.dispatch(
        { method: 'GET', path: '/big', headers: ['host', 'x'], body: null } as Dispatcher.DispatchOptions,
        {
          onConnect() {},
          onHeaders(_s: number, _h: unknown, r: () => void) {
            resume = r;
            return true;
          },
          onData(c: Buffer) {
            received += c.length;
            calls++;
            if (calls === 1) paused();
            return calls > 1; // the first chunk asks for a pause
          },
          onComplete: () => resolve('complete'),
          onError: (err: Error) => resolve(err.message),
        } as unknown as Dispatcher.DispatchHandler,
      );
    });
    await pausedAt;
    const atPause = received;
    // Requests on another connection go through the event loop while the big body waits in the
    // kernel: a socket that still read would hand the paused handler more chunks meanwhile.
    for (let i = 0; i < 5; i++)
      assert.deepEqual(await send(pool, { path: '/small' }), { status: 200, body: 'ok' });
    assert.equal(calls, 1);
    assert.equal(received, atPause);
    assert.ok(received < size);
    resume!();
    assert.equal(await done, 'complete');
    assert.equal(received, size);
  } finally {
    await pool.destroy();
    server.close();
  }
});

test('lean pool: no response head within headersTimeout fails with UND_ERR_HEADERS_TIMEOUT', async () => {
  const up = await startRawUpstream(() => ({ name: 'silent', parts: [] }));
  const pool = new LeanPool({ host: '127.0.0.1', port: up.port });
  try {
    const r = await send(pool, { headersTimeout: 50 });
    assert.equal(r.error, 'UND_ERR_HEADERS_TIMEOUT');
  } finally {
    await pool.destroy();
    await up.close();
  }
});

test('lean pool: a body that stalls fails with UND_ERR_BODY_TIMEOUT (timeouts are swept, not timed per request)', async () => {
  const up = await startRawUpstream(() => ({
    name: 'stall',
    parts: ['HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nab'],
  }));
  const pool = new LeanPool({ host: '127.0.0.1', port: up.port });
  try {
    const r = await send(pool, { bodyTimeout: 50 });
    assert.deepEqual(r, { status: 200, body: 'ab', error: 'UND_ERR_BODY_TIMEOUT' });
  } finally {
    await pool.destroy();
    await up.close();
  }
});

test('lean pool: an idle connection is closed by the pool within keepAliveMs; the next request connects afresh', async () => {
  const up = await startRawUpstream(() => ({ name: 'ok', parts: [OK] }));
  let connections = 0;
  const closed: Promise<unknown>[] = [];
  up.server.on('connection', (sock: net.Socket) => {
    connections++;
    closed.push(once(sock, 'close'));
  });
  const pool = new LeanPool({ host: '127.0.0.1', port: up.port, keepAliveMs: 80 });
  try {
    assert.deepEqual(await send(pool, {}), { status: 200, body: 'ok' });
    await closed[0]; // the pool closed it: the upstream never closes first
    assert.equal(pool.size, 0);
    assert.deepEqual(await send(pool, {}), { status: 200, body: 'ok' });
    assert.equal(connections, 2);
  } finally {
    await pool.destroy();
    await up.close();
  }
});

test('lean pool: a refused connection fails with its errno code', async () => {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as net.AddressInfo).port;
  await new Promise((r) => server.close(r));
  const pool = new LeanPool({ host: '127.0.0.1', port });
  assert.equal((await send(pool, {})).error, 'ECONNREFUSED');
  await pool.destroy();
});
