/**
 * Fuzz target for upstream responses on the lean client (fixed seeds): each seed sends a burst of
 * concurrent requests, each with its own id, through a gateway holding 2 upstream connections,
 * to a raw upstream that answers with generated responses (content-length, chunked, trailers, 1xx,
 * read-until-close), some mutated (duplicate or conflicting Content-Length, CL with TE, bad chunk
 * sizes, obs-fold, cut bodies, a second response with another id right behind the first, random
 * bytes in the head). Whatever happens, the gateway never crashes, no client ever sees a body
 * marked with another client's id, and a normal request works afterwards.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { startGateway } from '../helpers.js';
import { startRawUpstream, type RawResponse } from './upstream-corpus.js';

/** mulberry32: a small seeded PRNG, so each seed replays the same cases. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const MUTATIONS = [
  'none',
  'dup-cl',
  'conflict-cl',
  'cl-te',
  'bad-chunk',
  'obs-fold',
  'cut',
  'second',
  'flip',
  'big-head',
];

/** One generated response for client `id` (see the module comment). */
function generate(rng: () => number, id: number): RawResponse {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rng() * xs.length)]!;
  const body = `<id:${id}>` + 'x'.repeat(Math.floor(rng() * 3000));
  const shape = pick(['cl', 'chunked', 'trailers', '1xx', 'close']);
  const mutation = rng() < 0.5 ? 'none' : pick(MUTATIONS);
  let head = shape === '1xx' ? 'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n' : 'HTTP/1.1 200 OK\r\n';
  let payload: string;
  if (shape === 'chunked' || shape === 'trailers') {
    head += 'Transfer-Encoding: chunked\r\n';
    const size = mutation === 'bad-chunk' ? 'zz' : body.length.toString(16);
    payload = `${size}\r\n${body}\r\n0\r\n${shape === 'trailers' ? 'X-T: 1\r\n' : ''}\r\n`;
  } else if (shape === 'close') {
    payload = body;
  } else {
    head += `Content-Length: ${body.length}\r\n`;
    payload = body;
  }
  if (mutation === 'dup-cl') head += `Content-Length: ${body.length}\r\n`;
  if (mutation === 'conflict-cl') head += `Content-Length: ${body.length + 1}\r\n`;
  if (mutation === 'cl-te') head += 'Content-Length: 3\r\nTransfer-Encoding: chunked\r\n';
  if (mutation === 'obs-fold') head += 'X-A: a\r\n b\r\n';
  if (mutation === 'big-head') head += `X-Big: ${'a'.repeat(17_000)}\r\n`;
  let bytes = head + '\r\n' + payload;
  if (mutation === 'flip') {
    const at = Math.floor(rng() * head.length);
    bytes = bytes.slice(0, at) + String.fromCharCode(Math.floor(rng() * 256)) + bytes.slice(at + 1);
  }
  if (mutation === 'cut') bytes = bytes.slice(0, Math.floor(rng() * bytes.length));
  if (mutation === 'second')
    bytes += `HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\n<id:${id + 100000}>`.slice(0, 60);
  return {
    name: `${shape}/${mutation}`,
    parts: [Buffer.from(bytes, 'latin1')],
    close: shape === 'close' || mutation === 'cut',
  };
}

function get(port: number, path: string): Promise<{ status: number; body: string; complete: boolean }> {
  return new Promise((resolve) => {
    const req = http.request({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      let complete = false;
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => (complete = true));
      res.on('error', () => {});
      res.on('close', () =>
        resolve({ status: res.statusCode!, body: Buffer.concat(chunks).toString('latin1'), complete }),
      );
    });
    req.on('error', () => resolve({ status: 0, body: '', complete: false }));
    req.setTimeout(10_000, () => req.destroy());
    req.end();
  });
}

test('lean client fuzz (seeds 1-12): no crash, never a body meant for another client', async () => {
  const cases = new Map<string, RawResponse>();
  const up = await startRawUpstream((path) => cases.get(path));
  const { gw, port } = await startGateway({
    services: {
      s: {
        routes: [{ path_prefix: '/' }],
        upstream: { client: 'lean', connections: 2 },
        health: { consecutive_errors: 1_000_000 },
        traffic: { queue: { max: 1000, timeout: 10_000 } },
        instances: [{ id: 'a', url: up.url }],
      },
    },
  });
  try {
    const wrong: string[] = [];
    const statuses: Record<string, number> = {};
    let id = 0;
    for (let seed = 1; seed <= 12; seed++) {
      const rng = prng(seed);
      const burst: Promise<void>[] = [];
      for (let k = 0; k < 30; k++) {
        const mine = ++id;
        const path = `/f/${seed}/${mine}`;
        const c = generate(rng, mine);
        cases.set(path, c);
        burst.push(
          get(port, path).then((r) => {
            statuses[r.status] = (statuses[r.status] ?? 0) + 1;
            // The bytes behind a read-until-close body are that body (its own client's); behind a
            // framed response they are junk no client may see.
            const own = (n: number) => n === mine || (n === mine + 100000 && c.name.startsWith('close/'));
            for (const m of r.body.matchAll(/<id:(\d+)>/g))
              if (!own(Number(m[1]))) wrong.push(`seed ${seed} ${c.name}: client ${mine} got id ${m[1]}`);
            if (r.status === 200 && r.complete && !r.body.startsWith(`<id:${mine}>`))
              wrong.push(`seed ${seed} ${c.name}: client ${mine} got a whole 200 without its id`);
          }),
        );
      }
      await Promise.all(burst);
    }
    assert.deepEqual(wrong, []);
    // Both outcomes happened: the fuzz reached the refusal paths and the pass-through path.
    assert.ok((statuses['200'] ?? 0) > 50 && (statuses['502'] ?? 0) > 10, JSON.stringify(statuses));
    cases.set('/ok', { name: 'ok', parts: ['HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok'] });
    const after = await get(port, '/ok');
    assert.equal(after.status, 200);
    assert.equal(after.body, 'ok');
  } finally {
    await gw.close();
    await up.close();
  }
});
