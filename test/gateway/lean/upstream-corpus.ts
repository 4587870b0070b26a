/**
 * A raw TCP upstream for the lean-client tests: it reads a request head (the test's own framing,
 * GET/HEAD only, no bodies) and answers with exact bytes chosen by the request path, so responses
 * node:http would never write (malformed framing, obs-fold, junk after a response) can be sent.
 */
import net from 'node:net';
import { once } from 'node:events';

/** One upstream answer: bytes written in `parts` (each its own write), then maybe a close. */
export interface RawResponse {
  name: string;
  parts: (string | Buffer)[];
  /** Close the connection after the last part (default false: keep-alive). */
  close?: boolean;
  /** Request method (default GET). */
  method?: string;
}

/** A raw upstream; `answer(path)` picks the response for a request. */
export interface RawUpstream {
  server: net.Server;
  port: number;
  url: string;
  /** Requests seen, by path. */
  hits: Map<string, number>;
  close(): Promise<void>;
}

/** Starts a raw upstream that answers each request head with `answer(path)` (undefined: close). */
export async function startRawUpstream(
  answer: (path: string) => RawResponse | undefined,
): Promise<RawUpstream> {
  const sockets = new Set<net.Socket>();
  const hits = new Map<string, number>();
  const server = net.createServer((sock) => {
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
    sock.on('error', () => {});
    let buf = '';
    sock.on('data', (d: Buffer) => {
      buf += d.toString('latin1');
      let end: number;
      while ((end = buf.indexOf('\r\n\r\n')) >= 0) {
        const head = buf.slice(0, end);
        buf = buf.slice(end + 4);
        const path = head.split(' ')[1] ?? '/';
        hits.set(path, (hits.get(path) ?? 0) + 1);
        const r = answer(path);
        if (r === undefined) {
          sock.destroy();
          return;
        }
        for (const p of r.parts) sock.write(p);
        if (r.close) sock.end();
      }
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as net.AddressInfo).port;
  return {
    server,
    port,
    url: `http://127.0.0.1:${port}`,
    hits,
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

const MiB = Buffer.alloc(1 << 20, 'x');
const many = Array.from({ length: 40 }, (_, i) => `X-H${i}: v${i}\r\n`).join('');

/** Well-formed and malformed upstream responses, each named after its shape. */
export const CORPUS: RawResponse[] = [
  {
    name: 'content-length',
    parts: ['HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\nhello'],
  },
  { name: 'split head and body', parts: ['HTTP/1.1 200 OK\r\nContent-Le', 'ngth: 5\r\n\r\nhe', 'llo'] },
  {
    name: 'chunked',
    parts: ['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n'],
  },
  {
    name: 'chunked with trailers',
    parts: [
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-T\r\n\r\n2\r\nok\r\n0\r\nX-T: 1\r\n\r\n',
    ],
  },
  {
    name: 'chunk extension',
    parts: ['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2;a=b\r\nok\r\n0\r\n\r\n'],
  },
  {
    name: '100 then 200',
    parts: ['HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok'],
  },
  {
    name: '103 then 200',
    parts: [
      'HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n',
      'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok',
    ],
  },
  { name: '204 empty', parts: ['HTTP/1.1 204 No Content\r\nX-A: 1\r\n\r\n'] },
  { name: '304', parts: ['HTTP/1.1 304 Not Modified\r\nETag: "a"\r\n\r\n'] },
  { name: 'content-length 0', parts: ['HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n'] },
  { name: 'large 1 MiB', parts: ['HTTP/1.1 200 OK\r\nContent-Length: 1048576\r\n\r\n', MiB] },
  {
    name: 'read until close',
    parts: ['HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nall of it'],
    close: true,
  },
  {
    name: 'connection close',
    parts: ['HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok'],
    close: true,
  },
  { name: 'http/1.0', parts: ['HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok'], close: true },
  { name: '40 headers', parts: [`HTTP/1.1 200 OK\r\n${many}Content-Length: 2\r\n\r\nok`] },
  { name: '503', parts: ['HTTP/1.1 503 Service Unavailable\r\nContent-Length: 4\r\n\r\nbusy'] },
  { name: 'HEAD with length', method: 'HEAD', parts: ['HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n'] },
  {
    name: 'SSE',
    parts: [
      'HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n',
      '7\r\ndata: 1\r\n',
      '7\r\ndata: 2\r\n',
      '0\r\n\r\n',
    ],
  },
  // malformed: a 502 (or a cut connection) where undici rejects, never another response
  {
    name: 'duplicate content-length (same)',
    parts: ['HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nok'],
  },
  {
    name: 'duplicate content-length (different)',
    parts: ['HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok!'],
  },
  { name: 'content-length list', parts: ['HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\n\r\nok'] },
  {
    name: 'content-length and chunked',
    parts: ['HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n'],
  },
  {
    name: 'negative content-length',
    parts: ['HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\nok'],
    close: true,
  },
  {
    name: 'bad chunk size',
    parts: ['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nok\r\n0\r\n\r\n'],
  },
  {
    name: 'chunk size overflow',
    parts: ['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\nok\r\n'],
  },
  { name: 'obs-fold', parts: ['HTTP/1.1 200 OK\r\nX-A: a\r\n b\r\nContent-Length: 2\r\n\r\nok'] },
  { name: 'space before colon', parts: ['HTTP/1.1 200 OK\r\nContent-Length : 2\r\n\r\nok'] },
  { name: 'control char in value', parts: ['HTTP/1.1 200 OK\r\nX-A: a\x01b\r\nContent-Length: 2\r\n\r\nok'] },
  {
    name: 'oversized head',
    parts: [`HTTP/1.1 200 OK\r\nX-Big: ${'a'.repeat(20_000)}\r\nContent-Length: 2\r\n\r\nok`],
  },
  { name: 'bad status line', parts: ['HTTP/1.1 2x0 OK\r\nContent-Length: 2\r\n\r\nok'] },
  { name: 'garbage', parts: ['hello there\r\n\r\n'], close: true },
  { name: 'closed before any byte', parts: [], close: true },
  {
    name: 'early close mid-body',
    parts: ['HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten..'],
    close: true,
  },
  {
    name: 'early close mid-chunk',
    parts: ['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nhalf'],
    close: true,
  },
  { name: 'early close in head', parts: ['HTTP/1.1 200 OK\r\nContent-Len'], close: true },
  {
    name: '101 without upgrade',
    parts: ['HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\nConnection: upgrade\r\n\r\n'],
  },
  {
    name: 'junk after response',
    parts: [
      'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nwrong',
    ],
  },
  {
    name: 'transfer-encoding gzip',
    parts: ['HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nzzz'],
    close: true,
  },
];
