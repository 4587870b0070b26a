/**
 * `Upgrade: h2c` on an HTTP/1.1 request (RFC 7540 §3.2, deprecated by RFC 9113 §3.1) is never
 * forwarded: the gateway is the HTTP/2 endpoint (h2c with prior knowledge, ALPN h2), and an h2c
 * upgrade passed to an instance that accepts it turns the client's connection into a tunnel to that
 * instance, every later stream on it bypassing routing, authentication, admission and the access log
 * ("h2c smuggling"). The upgrade is ignored instead, as RFC 9110 §7.8 allows: the request is served
 * as a plain HTTP/1.1 request (its head rebuilt without Upgrade, HTTP2-Settings and their Connection
 * tokens, the bytes after it kept) on the same connection. curl --http2 on http:// sends one.
 */
import type http from 'node:http';
import type { Socket } from 'node:net';

/** Whether the request asks for an h2c upgrade (an `h2c` token in Upgrade). */
export function isH2cUpgrade(req: http.IncomingMessage): boolean {
  const u = req.headers.upgrade;
  return u !== undefined && u.split(',').some((t) => t.trim().toLowerCase() === 'h2c');
}

/**
 * The request's head as received, without the upgrade: Upgrade, HTTP2-Settings and their Connection
 * tokens. With `bodyLength` (a body node already parsed, so decoded) its framing is replaced by
 * that Content-Length.
 */
export function headWithoutUpgrade(req: http.IncomingMessage, bodyLength?: number): string {
  let head = `${req.method} ${req.url} HTTP/${req.httpVersion}\r\n`;
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    let value = raw[i + 1]!;
    if (name === 'upgrade' || name === 'http2-settings') continue;
    if (bodyLength !== undefined && (name === 'content-length' || name === 'transfer-encoding')) continue;
    if (name === 'connection') {
      value = value
        .split(',')
        .map((t) => t.trim())
        .filter((t) => t !== '' && !/^(upgrade|http2-settings)$/i.test(t))
        .join(', ');
      if (value === '') continue;
    }
    head += `${raw[i]}: ${value}\r\n`;
  }
  if (bodyLength !== undefined) head += `Content-Length: ${bodyLength}\r\n`;
  return head + '\r\n';
}

/**
 * Serves an h2c upgrade request as a plain HTTP/1.1 one: its head without the upgrade and the bytes
 * read after it are put back on the socket, which `toH1` hands to the HTTP/1.1 server again. Node 20
 * leaves a body in `head`; newer node (26) parses it into `req`, so it is read from there (decoded,
 * hence re-framed with its length) and put back first.
 */
export function ignoreH2cUpgrade(
  req: http.IncomingMessage,
  conn: { socket: Socket; head: Buffer },
  toH1: (socket: Socket) => void,
): void {
  const { socket, head } = conn;
  const parsed: Buffer[] = [];
  req.on('data', (c: Buffer) => parsed.push(c));
  req.once('error', () => socket.destroy());
  req.once('end', () => {
    const body = Buffer.concat(parsed);
    const start = headWithoutUpgrade(req, body.length > 0 ? body.length : undefined);
    socket.unshift(Buffer.concat([Buffer.from(start, 'latin1'), body, head]));
    toH1(socket);
    socket.resume();
  });
}
