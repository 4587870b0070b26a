/** A relayed stream's chunks written straight to the client's socket: the same body as res.write, or not used. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import http2 from 'node:http2';
import { once } from 'node:events';
import { openChunkedSocket } from '../../../src/llm/front-door/chunked-socket.js';

async function serve(
  handler: (req: http.IncomingMessage, res: http.ServerResponse) => void,
): Promise<{ url: string; close: () => void }> {
  const server = http.createServer(handler);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}/`, close: () => server.close() };
}

async function body(url: string): Promise<{ text: string; headers: http.IncomingHttpHeaders }> {
  const res = (await new Promise((resolve, reject) =>
    http.get(url, resolve).on('error', reject),
  )) as http.IncomingMessage;
  const parts: Buffer[] = [];
  for await (const c of res) parts.push(c as Buffer);
  return { text: Buffer.concat(parts).toString('utf8'), headers: res.headers };
}

test(
  'chunks written while the socket is backed up (frames left pending) arrive whole and in order, text and bytes alike',
  { timeout: 30_000 },
  async () => {
    const expected: string[] = [];
    let direct = false;
    const srv = await serve(async (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('first\n');
      expected.push('first\n');
      // Node 26 sends a small first write with the head on the next tick (Node 20 at once).
      await new Promise(setImmediate);
      const cs = openChunkedSocket(res);
      direct = cs !== undefined;
      // Written in one go, far more than the socket buffers hold: most writes are left pending
      // (the client cannot read until this loop ends), each with its own content in a frame of the
      // same size (one that a pending write still holds must not be reused).
      for (let i = 0; i < 400; i++) {
        const piece = `${String(i).padStart(4, '0')}:${String.fromCharCode(0x41 + (i % 26)).repeat(16_000)}:海🌊\n`;
        expected.push(piece);
        cs?.write(i % 2 === 0 ? Buffer.from(piece) : piece);
      }
      res.end('last\n');
      expected.push('last\n');
    });
    try {
      const got = await body(srv.url);
      assert.ok(direct, 'an HTTP/1.1 chunked response after its head is written to directly');
      assert.equal(got.headers['transfer-encoding'], 'chunked');
      assert.equal(got.text, expected.join(''));
    } finally {
      srv.close();
    }
  },
);

test('not used where res.write would differ: before the head, with a content-length, or over HTTP/2', async () => {
  const seen: (boolean | undefined)[] = [];
  const srv = await serve((req, res) => {
    if (req.url === '/len') {
      res.writeHead(200, { 'content-length': '4' });
      res.write('ab');
      seen.push(openChunkedSocket(res) === undefined);
      res.end('cd');
      return;
    }
    res.writeHead(200);
    seen.push(openChunkedSocket(res) === undefined); // head not sent yet
    res.end('x');
  });
  const h2 = http2.createServer((_req, res) => {
    res.writeHead(200);
    res.write('a');
    seen.push(openChunkedSocket(res as unknown as http.ServerResponse) === undefined);
    res.end('b');
  });
  h2.listen(0, '127.0.0.1');
  await once(h2, 'listening');
  try {
    assert.equal((await body(srv.url)).text, 'x');
    assert.equal((await body(`${srv.url}len`)).text, 'abcd');
    const client = http2.connect(`http://127.0.0.1:${(h2.address() as { port: number }).port}`);
    const s = client.request({ ':path': '/' });
    let text = '';
    s.on('data', (c: Buffer) => (text += String(c)));
    await once(s, 'end');
    client.close();
    assert.equal(text, 'ab');
    assert.deepEqual(seen, [true, true, true]);
  } finally {
    srv.close();
    h2.close();
  }
});
