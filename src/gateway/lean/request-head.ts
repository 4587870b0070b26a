/**
 * The request head of the lean client, serialized (never parsed) in one string and written in one
 * write, corked together with a buffered body so both leave in one syscall. Framing follows undici's
 * rules so the upstream sees what it saw before: a buffered body gets Content-Length, a streamed
 * one without a length goes chunked (RFC 9112 §7.1), POST/PUT/PATCH without a body say
 * `content-length: 0` (RFC 9110 §8.6). Header names and values come from node's request parser
 * (which refuses CR, LF and NUL in them) or from the gateway's own config.
 */
import type net from 'node:net';
import type { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';

/** A request body as the exchange hands it over. */
export type LeanBody = null | Buffer | string | Readable | AsyncIterable<Buffer>;

const EXPECTS_PAYLOAD = new Set(['POST', 'PUT', 'PATCH']);

/** Writes the head (and a buffered body); returns whether a streamed body must go chunked. */
export function writeRequestHead(
  socket: net.Socket,
  opts: Dispatcher.DispatchOptions,
  body: LeanBody,
): boolean {
  let head = opts.method + ' ' + opts.path + ' HTTP/1.1\r\n';
  let hasLength = false;
  const h = opts.headers;
  if (Array.isArray(h)) {
    for (let i = 0; i < h.length; i += 2) {
      const name = h[i] as string;
      if (name.length === 14 && name.toLowerCase() === 'content-length') hasLength = true;
      head += name + ': ' + (h[i + 1] as string) + '\r\n';
    }
  } else if (h != null) {
    for (const [name, value] of Object.entries(h as Record<string, string | string[] | undefined>)) {
      if (value === undefined) continue;
      if (name.length === 14 && name.toLowerCase() === 'content-length') hasLength = true;
      for (const v of Array.isArray(value) ? value : [value]) head += name + ': ' + v + '\r\n';
    }
  }
  let chunked = false;
  const buffered = body === null || typeof body === 'string' || Buffer.isBuffer(body);
  if (body === null) {
    if (!hasLength && EXPECTS_PAYLOAD.has(opts.method)) head += 'content-length: 0\r\n';
  } else if (buffered) {
    if (!hasLength) head += 'content-length: ' + Buffer.byteLength(body as Buffer | string) + '\r\n';
  } else if (!hasLength) {
    head += 'transfer-encoding: chunked\r\n';
    chunked = true;
  }
  head += 'connection: keep-alive\r\n\r\n';
  if (buffered && body !== null && body.length > 0) {
    socket.cork();
    socket.write(head, 'latin1');
    socket.write(body as Buffer | string);
    socket.uncork();
  } else socket.write(head, 'latin1');
  return chunked;
}
