/**
 * An HTTP/2 request seen as an HTTP/1.1 one by the route stage: pseudo-header fields are not
 * forwarded (RFC 9113 §8.3), `:authority` becomes Host (RFC 9113 §8.3.1: it takes precedence over
 * a Host field), the `cookie` fields (which HTTP/2 clients split one per cookie for HPACK) are
 * joined into one with "; " (RFC 9113 §8.2.3: an HTTP/1.1 upstream must get a single Cookie, RFC 6265
 * §5.4), and a body without Content-Length is framed like a chunked one (an HTTP/2 body is delimited
 * by END_STREAM, RFC 9113 §8.1).
 */
import type http from 'node:http';
import type http2 from 'node:http2';
import type { Exchange } from '../pipeline/exchange.js';

/**
 * The raw header list of an HTTP/2 request without pseudo-headers, `:authority` as Host first, and
 * its cookie fields as one (where the first was).
 */
export function h2RawHeaders(req: http.IncomingMessage): string[] {
  const raw = req.rawHeaders;
  let authority: string | undefined;
  let cookie = -1; // index in `out` of the cookie value
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.charCodeAt(0) === 58) {
      if (name === ':authority') authority = raw[i + 1];
      continue;
    }
    if (authority !== undefined && name === 'host') continue;
    if (name === 'cookie') {
      if (cookie >= 0) {
        out[cookie] += '; ' + raw[i + 1]!;
        continue;
      }
      cookie = out.length + 1;
    }
    out.push(name, raw[i + 1]!);
  }
  if (authority !== undefined) {
    // drop a Host that came before :authority too (the loop only skipped later ones)
    for (let i = 0; i < out.length; i += 2)
      if (out[i] === 'host') {
        out.splice(i, 2);
        break;
      }
    out.unshift('host', authority);
  }
  return out;
}

/** Whether an HTTP/2 request has a body still to come (its HEADERS frame did not end the stream). */
export function h2HasBody(req: http.IncomingMessage): boolean {
  const stream = (req as unknown as http2.Http2ServerRequest).stream;
  return stream !== undefined && !stream.endAfterHeaders;
}

/** Whether a request is a gRPC call (RFC-less: the gRPC over HTTP/2 protocol's content-type). */
export function isGrpc(req: http.IncomingMessage): boolean {
  const ct = req.headers['content-type'];
  return ct !== undefined && ct.startsWith('application/grpc');
}

/** Route stage, for an HTTP/2 request: its body framing and whether it is a gRPC call. */
export function adaptH2Exchange(ex: Exchange): void {
  if (ex.contentLength === undefined) ex.chunked = h2HasBody(ex.req);
  ex.grpc = isGrpc(ex.req);
}
