/** Shared helpers for gateway tests: upstream servers, gateways and raw sockets on 127.0.0.1:0. */
import http from 'node:http';
import net from 'node:net';
import { once } from 'node:events';
import { createGateway, type Gateway, type GatewayOptions } from '../../src/gateway/gateway.js';

/** A running upstream HTTP server. */
export interface Upstream {
  server: http.Server;
  port: number;
  url: string;
  close(): Promise<void>;
}

/** Starts an upstream with `handler` on an ephemeral loopback port. */
export async function startUpstream(handler: http.RequestListener): Promise<Upstream> {
  const server = http.createServer(handler);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as net.AddressInfo).port;
  return {
    server,
    port,
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** An upstream that echoes method, url, headers and body length as JSON. */
export function echo(): http.RequestListener {
  return (req, res) => {
    let bytes = 0;
    req.on('data', (c: Buffer) => (bytes += c.length));
    req.on('end', () => {
      const body = JSON.stringify({
        method: req.method,
        url: req.url,
        headers: req.headers,
        rawHeaders: req.rawHeaders,
        bytes,
      });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
  };
}

/** Starts a gateway with the given options; returns it with its port. */
export async function startGateway(
  options: GatewayOptions,
): Promise<{ gw: Gateway; port: number; base: string }> {
  const gw = createGateway(options);
  const addr = await gw.listen(0, '127.0.0.1');
  return { gw, port: addr.port, base: `http://127.0.0.1:${addr.port}` };
}

/** One HTTP request without connection reuse; resolves with status, headers and body. */
export function request(
  port: number,
  opts: { method?: string; path?: string; headers?: http.OutgoingHttpHeaders; body?: string | Buffer } = {},
): Promise<{ status: number; headers: http.IncomingHttpHeaders; rawHeaders: string[]; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        method: opts.method ?? 'GET',
        path: opts.path ?? '/',
        headers: opts.headers,
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode!,
            headers: res.headers,
            rawHeaders: res.rawHeaders,
            body: Buffer.concat(chunks).toString(),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(opts.body);
  });
}

/** Writes raw bytes on a fresh socket and resolves with everything read until the peer closes. */
export function raw(
  port: number,
  data: string | Buffer,
  opts: { endAfterWrite?: boolean } = {},
): Promise<string> {
  return new Promise((resolve) => {
    const sock = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    sock.on('data', (c: Buffer) => chunks.push(c));
    sock.on('error', () => {});
    sock.on('close', () => resolve(Buffer.concat(chunks).toString('latin1')));
    sock.write(data);
    if (opts.endAfterWrite) sock.end();
  });
}

/** Parses the JSON error body of a response. */
export function errorCode(body: string): string | undefined {
  try {
    return (JSON.parse(body) as { error?: { code?: string } }).error?.code;
  } catch {
    return undefined;
  }
}
