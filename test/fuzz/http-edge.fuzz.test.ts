/**
 * Fuzz: HTTP edge cases against the real gateway (startApp) over raw sockets. Request smuggling
 * vectors (CL.TE, TE.CL, obfuscated Transfer-Encoding, bare LF, duplicated headers), invalid
 * chunked encoding, header injection (CR/LF/NUL in names and values), huge and malformed headers.
 * Each gets a 4xx or a closed connection, never a crash; no smuggled request reaches the upstream;
 * concurrent clients each get their own response (no cross-client leak). Seed fixed.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { parseConfig } from '../../src/config/load-config.js';
import { startApp, type LuascaleApp } from '../../src/app/luascale-app.js';

const SEED = 1997;
let app: LuascaleApp;
let upstream: http.Server;
let dir: string;
let port: number;
const upstreamPaths: string[] = [];

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ls-fuzz-http-'));
  // Echoes the client's marker, path and body, so a response that belongs to someone else shows.
  upstream = http.createServer((req, res) => {
    upstreamPaths.push(req.url ?? '');
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      res.setHeader('content-type', 'application/json');
      res.end(
        JSON.stringify({
          marker: req.headers['x-marker'] ?? null,
          path: req.url,
          body: Buffer.concat(chunks).toString('latin1'),
        }),
      );
    });
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  const up = (upstream.address() as net.AddressInfo).port;
  const text = `
gateway: { listen: "127.0.0.1:0", access_log: "off", request_timeout: 2s, max_header_bytes: 8192 }
admin: { listen: "127.0.0.1:0" }
store: { sqlite: "${dir}/ls.db" }
services:
  web:
    provider: { static: { targets: ["http://127.0.0.1:${up}"] } }
    scaling: { min: 1, max: 1, policy: { builtin: target-tracking, params: { metric: rps, target: 10 } } }
    traffic: { max_body: 65536 }
`;
  app = await startApp({
    config: parseConfig(text, join(dir, 'l.yaml')),
    file: join(dir, 'l.yaml'),
    baseDir: dir,
  });
  port = Number(new URL(app.gatewayUrl).port);
});

after(async () => {
  await app?.close({ graceMs: 200 });
  await new Promise((r) => upstream.close(r));
  rmSync(dir, { recursive: true, force: true });
});

/**
 * Writes raw bytes and returns everything the gateway sent back until it closes (bounded at 3 s).
 * No half-close: like nginx, the gateway treats a client FIN as an abort (499) of what is in flight.
 * `untilClose`: the exchange ends with `Connection: close`, so wait for the close (bounded at 15 s)
 * rather than for 300 ms of quiet, which a loaded machine can leave between two responses.
 */
function raw(data: string, o: { untilClose?: boolean } = {}): Promise<string> {
  return new Promise((resolve) => {
    const sock = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const bound = setTimeout(() => sock.destroy(), o.untilClose ? 15_000 : 3000);
    // Once something came back, 300 ms of quiet ends the exchange (keep-alive would hold it open).
    let quiet: NodeJS.Timeout | undefined;
    sock.on('data', (c: Buffer) => {
      chunks.push(c);
      if (o.untilClose) return;
      clearTimeout(quiet);
      quiet = setTimeout(() => sock.destroy(), 300);
    });
    sock.on('error', () => {});
    sock.on('close', () => {
      clearTimeout(bound);
      clearTimeout(quiet);
      resolve(Buffer.concat(chunks).toString('latin1'));
    });
    sock.write(data);
  });
}

function statuses(reply: string): number[] {
  return [...reply.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((m) => Number(m[1]));
}

const H = 'Host: x\r\n';
const SMUGGLED = 'GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n';
const VECTORS: Array<[string, string]> = [
  [
    'CL.TE',
    `POST /a HTTP/1.1\r\n${H}Content-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${SMUGGLED}`,
  ],
  [
    'TE.CL',
    `POST /a HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n2a\r\n${SMUGGLED}\r\n0\r\n\r\n`,
  ],
  [
    'TE obfuscated (space before colon)',
    `POST /a HTTP/1.1\r\n${H}Transfer-Encoding : chunked\r\nContent-Length: 4\r\n\r\n0\r\n\r\n${SMUGGLED}`,
  ],
  [
    'TE obfuscated (xchunked)',
    `POST /a HTTP/1.1\r\n${H}Transfer-Encoding: xchunked\r\nContent-Length: 4\r\n\r\n0\r\n\r\n${SMUGGLED}`,
  ],
  [
    'TE twice',
    `POST /a HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\n0\r\n\r\n${SMUGGLED}`,
  ],
  [
    'TE chunked, gzip (chunked not last)',
    `POST /a HTTP/1.1\r\n${H}Transfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n${SMUGGLED}`,
  ],
  [
    'TE with tab/vertical tab',
    `POST /a HTTP/1.1\r\n${H}Transfer-Encoding:\x0bchunked\r\nContent-Length: 4\r\n\r\n0\r\n\r\n${SMUGGLED}`,
  ],
  [
    'CL twice, different',
    `POST /a HTTP/1.1\r\n${H}Content-Length: 0\r\nContent-Length: 44\r\n\r\n${SMUGGLED}`,
  ],
  ['CL with plus sign', `POST /a HTTP/1.1\r\n${H}Content-Length: +0\r\n\r\n${SMUGGLED}`],
  ['CL negative', `POST /a HTTP/1.1\r\n${H}Content-Length: -1\r\n\r\n${SMUGGLED}`],
  ['CL hex', `POST /a HTTP/1.1\r\n${H}Content-Length: 0x0\r\n\r\n${SMUGGLED}`],
  [
    'bare LF line endings',
    `POST /a HTTP/1.1\n${H.replace('\r', '')}Content-Length: 0\nTransfer-Encoding: chunked\n\n0\n\n${SMUGGLED}`,
  ],
  [
    'chunk size overflow',
    `POST /a HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFFFFFFFF\r\nx\r\n0\r\n\r\n`,
  ],
  ['chunk size not hex', `POST /a HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\nzz\r\nx\r\n0\r\n\r\n`],
  [
    'chunk extension garbage',
    `POST /a HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n1;\x00=\x01\r\nx\r\n0\r\n\r\n`,
  ],
  [
    'chunk data longer than size',
    `POST /a HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n1\r\nxyz\r\n0\r\n\r\n${SMUGGLED}`,
  ],
  [
    'missing final CRLF in chunk',
    `POST /a HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n3\r\nabc0\r\n\r\n`,
  ],
  ['header name with space', `GET /a HTTP/1.1\r\n${H}Bad Name: x\r\n\r\n`],
  ['header value with NUL', `GET /a HTTP/1.1\r\n${H}X-A: a\x00b\r\n\r\n`],
  ['header value with bare CR (injection)', `GET /a HTTP/1.1\r\n${H}X-A: a\rX-Injected: 1\r\n\r\n`],
  ['obs-fold continuation line', `GET /a HTTP/1.1\r\n${H}X-A: a\r\n  folded\r\n\r\n`],
  ['request line with two spaces', `GET  /a HTTP/1.1\r\n${H}\r\n`],
  ['HTTP/1.1 without Host', 'GET /a HTTP/1.1\r\n\r\n'],
  ['two Host headers', `GET /a HTTP/1.1\r\n${H}${H}\r\n`],
  ['huge header (over max_header_bytes)', `GET /a HTTP/1.1\r\n${H}X-Big: ${'a'.repeat(20_000)}\r\n\r\n`],
  [
    'many headers',
    `GET /a HTTP/1.1\r\n${H}${Array.from({ length: 3000 }, (_, i) => `X-${i}: 1\r\n`).join('')}\r\n`,
  ],
  ['absolute-form to another host', `GET http://evil.example/a HTTP/1.1\r\n${H}\r\n`],
  ['CONNECT tunnel attempt', `CONNECT 127.0.0.1:22 HTTP/1.1\r\nHost: 127.0.0.1:22\r\n\r\n`],
  ['HTTP/0.9 style', 'GET /a\r\n\r\n'],
  ['binary garbage', '\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03'],
];

test('smuggling, chunked, injection and header vectors: 4xx or closed, never a smuggled request upstream, gateway keeps serving', async () => {
  for (const [name, data] of VECTORS) {
    const reply = await raw(data);
    const codes = statuses(reply);
    // Either rejected with a 4xx, or (for the benign ones) served once: never a 5xx, never two answers to one smuggled stream.
    assert.ok(
      codes.every((c) => c < 500),
      `${name}: ${codes} ${reply.slice(0, 200)}`,
    );
    assert.ok(!upstreamPaths.includes('/smuggled'), `${name}: a smuggled request reached the upstream`);
    const after = await raw(`GET /after HTTP/1.1\r\n${H}Connection: close\r\n\r\n`);
    assert.match(after, /^HTTP\/1\.1 200/, `${name}: the gateway keeps serving`);
  }
});

test(`fuzz: random header names/values with CR, LF, NUL and long runs (seed ${SEED}, 150 runs)`, async () => {
  const chars = fc.constantFrom(
    'a',
    'Z',
    '-',
    ':',
    ' ',
    '\t',
    '\r',
    '\n',
    '\x00',
    '\x7f',
    'é',
    ';',
    ',',
    '"',
  );
  const piece = fc.array(chars, { maxLength: 30 }).map((a) => a.join(''));
  await fc.assert(
    fc.asyncProperty(
      piece,
      piece,
      fc.constantFrom('GET', 'POST'),
      fc.nat(3),
      async (name, value, method, repeat) => {
        const extra = `${name}: ${value}\r\n`.repeat(repeat + 1);
        const reply = await raw(
          `${method} /f HTTP/1.1\r\n${H}${extra}Content-Length: 0\r\nConnection: close\r\n\r\n`,
        );
        const codes = statuses(reply);
        assert.ok(codes.length <= 1 && codes.every((c) => c < 500), `${JSON.stringify(extra)} → ${codes}`);
        assert.ok(!/X-Injected/i.test(reply.split('\r\n\r\n')[0] ?? ''), 'no injected response header');
      },
    ),
    { seed: SEED, numRuns: 150 },
  );
});

test('concurrent clients with keep-alive and pipelining each get only their own responses (no cross-client leak)', async () => {
  const clients = 20;
  const perClient = 5;
  const results = await Promise.all(
    Array.from({ length: clients }, (_, c) => {
      const reqs = Array.from(
        { length: perClient },
        (_, i) =>
          `POST /c${c}/r${i} HTTP/1.1\r\n${H}X-Marker: client-${c}\r\nContent-Length: ${`body-${c}-${i}`.length}\r\n\r\nbody-${c}-${i}`,
      ).join('');
      return raw(
        reqs + `GET /c${c}/last HTTP/1.1\r\n${H}X-Marker: client-${c}\r\nConnection: close\r\n\r\n`,
        { untilClose: true },
      ).then((reply) => ({ c, reply }));
    }),
  );
  for (const { c, reply } of results) {
    const bodies = [...reply.matchAll(/\{"marker":[^}]*\}/g)].map(
      (m) => JSON.parse(m[0]) as { marker: string; path: string; body: string },
    );
    assert.equal(bodies.length, perClient + 1, `client ${c} got every response: ${reply.slice(0, 300)}`);
    bodies.forEach((b, i) => {
      assert.equal(b.marker, `client-${c}`, `client ${c} saw someone else's response`);
      if (i < perClient) {
        assert.equal(b.path, `/c${c}/r${i}`, 'responses in request order');
        assert.equal(b.body, `body-${c}-${i}`);
      }
    });
  }
});
