/**
 * Bytes a client sends right after its upgrade request, before the 101 arrives, reach the upstream
 * (#16 item 6): node hands them to the 'upgrade' event as `head`, and the splice must forward
 * them before piping the rest. One test against a real WebSocket server (the `ws` package, already
 * installed as a dependency of @kubernetes/client-node; loaded without types), one against a raw
 * upgrade server that withholds its 101 until the early bytes have arrived.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { once } from 'node:events';
import { createRequire } from 'node:module';
import { startGateway, startUpstream } from './helpers.js';

/** What the test uses of `ws`'s server. */
interface WsServer {
  on(
    event: 'connection',
    fn: (ws: { on(e: 'message', f: (m: Buffer) => void): void; send(s: string): void }) => void,
  ): void;
  close(): void;
}
const { WebSocketServer } = createRequire(import.meta.url)('ws') as {
  WebSocketServer: new (o: { server: http.Server }) => WsServer;
};

const HANDSHAKE =
  'GET /ws HTTP/1.1\r\nHost: ws.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
  'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n';

/** A masked client text frame (RFC 6455 §5.2, payload < 126 bytes). */
function textFrame(text: string): Buffer {
  const payload = Buffer.from(text);
  const mask = Buffer.from([0x12, 0x34, 0x56, 0x78]);
  const masked = Buffer.from(payload.map((b, i) => b ^ mask[i % 4]!));
  return Buffer.concat([Buffer.from([0x81, 0x80 | payload.length]), mask, masked]);
}

/** Reads from `sock` until `done(buffer)` holds. */
async function readUntil(sock: net.Socket, done: (b: Buffer) => boolean): Promise<Buffer> {
  let buf = Buffer.alloc(0);
  while (!done(buf)) buf = Buffer.concat([buf, ((await once(sock, 'data')) as [Buffer])[0]]);
  return buf;
}

test(
  'WebSocket: a frame written with the upgrade request reaches a ws server and is answered',
  { timeout: 10_000 },
  async () => {
    const up = await startUpstream((_req, res) => res.end());
    const wss = new WebSocketServer({ server: up.server });
    const got: string[] = [];
    wss.on('connection', (ws) =>
      ws.on('message', (m) => {
        got.push(String(m));
        ws.send(`echo:${String(m)}`);
      }),
    );
    const { gw, port } = await startGateway({
      services: { web: { routes: [{ path_prefix: '/' }], instances: [{ id: 'u1', url: up.url }] } },
    });
    try {
      const sock = net.connect(port, '127.0.0.1');
      await once(sock, 'connect');
      // one write: the first frame travels in the same segment as the handshake, ahead of any 101
      sock.write(Buffer.concat([Buffer.from(HANDSHAKE), textFrame('hello')]));
      const reply = await readUntil(sock, (b) => b.includes('echo:hello'));
      const text = reply.toString('latin1');
      assert.match(text, /^HTTP\/1\.1 101 /);
      // the server's unmasked text frame: 0x81, length, payload
      const frame = reply.subarray(text.indexOf('\r\n\r\n') + 4);
      assert.deepEqual([...frame.subarray(0, 2)], [0x81, 'echo:hello'.length]);
      assert.equal(frame.subarray(2).toString(), 'echo:hello');
      assert.deepEqual(got, ['hello']);
      sock.destroy();
    } finally {
      wss.close();
      await gw.close({ graceMs: 100 });
      await up.close();
    }
  },
);

test(
  'any Upgrade: bytes sent before the 101 (with the request and in a later write) are held, then reach the upstream in order',
  { timeout: 10_000 },
  async () => {
    const up = await startUpstream((_req, res) => res.end());
    const seen: Buffer[] = [];
    up.server.on('upgrade', (_req: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
      // Nothing may arrive before this instance has answered 101 (the gateway holds it).
      seen.push(head);
      socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: x-tunnel\r\nConnection: Upgrade\r\n\r\n`);
      socket.pipe(socket);
    });
    const { gw, port } = await startGateway({
      services: { web: { routes: [{ path_prefix: '/' }], instances: [{ id: 'u1', url: up.url }] } },
    });
    try {
      const sock = net.connect(port, '127.0.0.1');
      await once(sock, 'connect');
      sock.write('GET /t HTTP/1.1\r\nHost: t\r\nUpgrade: x-tunnel\r\nConnection: Upgrade\r\n\r\n01234');
      sock.write('56789');
      const reply = await readUntil(sock, (b) => b.includes('0123456789'));
      const text = reply.toString('latin1');
      assert.match(text, /^HTTP\/1\.1 101 /);
      assert.equal(text.slice(text.indexOf('\r\n\r\n') + 4), '0123456789');
      assert.deepEqual(seen.map(String), [''], 'no client byte reached the instance with its handshake');
      sock.write('after'); // and the splice carries on both ways
      await readUntil(sock, (b) => b.includes('after'));
      sock.destroy();
    } finally {
      await gw.close({ graceMs: 100 });
      await up.close();
    }
  },
);

test(
  'an instance that ignores the Upgrade (answers 200 and keeps the connection) is no tunnel: its answer is relayed, the connection closes, later bytes never reach it',
  { timeout: 10_000 },
  async () => {
    const requests: string[] = [];
    const up = await startUpstream((req, res) => {
      requests.push(`${req.method} ${req.url}`);
      res.end('plain');
    });
    const { gw, port } = await startGateway({
      services: { web: { routes: [{ path_prefix: '/api' }], instances: [{ id: 'u1', url: up.url }] } },
    });
    try {
      const sock = net.connect(port, '127.0.0.1');
      await once(sock, 'connect');
      // the smuggled request (a path no route serves) follows the upgrade request at once
      sock.write(
        'GET /api/ws HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
          'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n' +
          'GET /internal/admin HTTP/1.1\r\nHost: t\r\n\r\n',
      );
      let reply = '';
      sock.on('data', (c: Buffer) => (reply += c.toString('latin1')));
      await once(sock, 'close');
      assert.match(reply, /^HTTP\/1\.1 200 /);
      assert.match(reply, /connection: close/i);
      assert.match(reply, /\r\n\r\nplain$/);
      assert.deepEqual(requests, ['GET /api/ws']);
    } finally {
      await gw.close({ graceMs: 100 });
      await up.close();
    }
  },
);
