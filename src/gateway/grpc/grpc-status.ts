/**
 * gRPC status codes at the gateway (gRPC over HTTP/2, doc/statuscodes.md and
 * doc/http-grpc-status-mapping.md of grpc/grpc):
 * - The gateway's own refusals (no route, rate limit, shedding, upstream failure) answer a gRPC call
 *   as a trailers-only response: HTTP 200, `content-type: application/grpc`, `grpc-status` and a
 *   percent-encoded `grpc-message` in one HEADERS frame that ends the stream. Shedding adds
 *   `grpc-retry-pushback-ms` (gRPC A6 retry pushback) from Retry-After.
 * - An upstream's grpc-status is recorded as an HTTP status (grpc-gateway's mapping) so signals,
 *   Prometheus and the access log count a failed call like a failed request: UNKNOWN, INTERNAL,
 *   UNAVAILABLE, DEADLINE_EXCEEDED, UNIMPLEMENTED and DATA_LOSS as 5xx errors, client errors as 4xx.
 */
import type http2 from 'node:http2';
import { ERRORS, formatMessage, type ErrorCode } from '../../core/errors.js';
import type { Exchange, ReplyOptions } from '../pipeline/exchange.js';

/** gRPC status codes by name (the ones the gateway produces or names). */
export const GrpcStatus = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  UNAUTHENTICATED: 16,
} as const;

// grpc-status → HTTP status (grpc-gateway runtime.HTTPStatusFromCode), index = code.
const HTTP_OF_GRPC = [200, 499, 500, 400, 504, 404, 409, 403, 429, 400, 409, 400, 501, 500, 503, 500, 401];

/** The HTTP status a grpc-status is recorded as (500 for codes outside 0..16). */
export function httpStatusOfGrpc(code: number): number {
  return HTTP_OF_GRPC[code] ?? 500;
}

/** The gRPC status of a gateway refusal with this HTTP status. */
export function grpcStatusOfHttp(status: number): number {
  if (status === 429 || status === 413 || status === 431) return GrpcStatus.RESOURCE_EXHAUSTED;
  if (status === 503 || status === 502) return GrpcStatus.UNAVAILABLE;
  if (status === 504 || status === 408) return GrpcStatus.DEADLINE_EXCEEDED;
  if (status === 404 || status === 405) return GrpcStatus.UNIMPLEMENTED;
  if (status === 401) return GrpcStatus.UNAUTHENTICATED;
  if (status === 403) return GrpcStatus.PERMISSION_DENIED;
  if (status === 400) return GrpcStatus.INVALID_ARGUMENT;
  return GrpcStatus.INTERNAL;
}

/** Percent-encodes a grpc-message (gRPC over HTTP/2: printable ASCII except %, as is). */
export function encodeGrpcMessage(message: string): string {
  return Buffer.from(message, 'utf8').reduce(
    (out, b) =>
      out +
      (b >= 0x20 && b <= 0x7e && b !== 0x25
        ? String.fromCharCode(b)
        : `%${b.toString(16).toUpperCase().padStart(2, '0')}`),
    '',
  );
}

/**
 * Answers a gRPC call that the gateway refuses with a trailers-only response; false when it cannot
 * (not HTTP/2, or the head is already out), and the caller answers as for HTTP.
 */
export function grpcReply(
  ex: Exchange,
  code: ErrorCode,
  params: Record<string, unknown>,
  options: ReplyOptions | undefined,
): boolean {
  const stream = (ex.res as unknown as http2.Http2ServerResponse).stream;
  if (stream === undefined || stream.headersSent || stream.destroyed) return false;
  const status = options?.status ?? ERRORS[code].status;
  const headers: http2.OutgoingHttpHeaders = {
    ':status': 200,
    'content-type': 'application/grpc',
    'grpc-status': String(grpcStatusOfHttp(status)),
    'grpc-message': encodeGrpcMessage(`${code}: ${formatMessage(ERRORS[code].message, params)}`),
  };
  if (ex.requestId !== '') headers['x-request-id'] = ex.requestId;
  const extra = options?.headers;
  if (extra !== undefined)
    for (const k in extra) {
      const name = k.toLowerCase();
      if (name === 'retry-after') headers['grpc-retry-pushback-ms'] = String(Number(extra[k]) * 1000);
      else headers[name] = extra[k];
    }
  if (options?.retryAfterS !== undefined && headers['grpc-retry-pushback-ms'] === undefined)
    headers['grpc-retry-pushback-ms'] = String(Math.max(0, Math.ceil(options.retryAfterS * 1000)));
  ex.status = status;
  stream.respond(headers, { endStream: true });
  return true;
}

/**
 * Upstream trailers go to the client (HTTP/2 carries them; over HTTP/1.1 only with chunked
 * framing), and a gRPC call's status decides the status it is recorded with.
 */
export function passTrailers(ex: Exchange, trailers: readonly (string | Buffer)[]): void {
  const out: Record<string, string> = {};
  for (let i = 0; i < trailers.length; i += 2) {
    const name = String(trailers[i]).toLowerCase();
    const value = String(trailers[i + 1]);
    out[name] = out[name] === undefined ? value : `${out[name]}, ${value}`;
    if (name === 'grpc-status' && ex.status === 200) ex.status = httpStatusOfGrpc(Number(value));
  }
  if (!ex.res.destroyed) ex.res.addTrailers(out);
}
