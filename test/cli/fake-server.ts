/** A tiny HTTP server that answers whatever a test tells it to and records each request. */
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';

/** One recorded request. */
export interface SeenRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** A running fake server. */
export interface FakeServer {
  url: string;
  requests: SeenRequest[];
  /** The answer to every request from now on (objects are sent as application/json). */
  respond(status: number, body: unknown, type?: string): void;
  /** Or a handler, for streams. */
  handle(fn: (req: SeenRequest, res: ServerResponse) => void): void;
  close(): Promise<void>;
}

/** Starts a fake server on a free loopback port. */
export async function fakeServer(): Promise<FakeServer> {
  const requests: SeenRequest[] = [];
  let handler: (req: SeenRequest, res: ServerResponse) => void = (_req, res) => res.end();
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const seen = { method: req.method!, url: req.url!, headers: req.headers, body };
      requests.push(seen);
      handler(seen, res);
    });
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    respond(status, body, type) {
      handler = (_req, res) => {
        const text = typeof body === 'string' ? body : JSON.stringify(body);
        res.writeHead(status, { 'content-type': type ?? 'application/json; charset=utf-8' }).end(text);
      };
    },
    handle(fn) {
      handler = fn;
    },
    close: () =>
      new Promise<void>((done) => {
        server.closeAllConnections();
        server.close(() => done());
      }),
  };
}
