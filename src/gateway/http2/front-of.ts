/**
 * Wires the listener's front (HTTP/2, TLS) onto the gateway's node:http server, and finds it again
 * when the gateway closes. Without `http2` and `tls` the server is left as it is.
 */
import type http from 'node:http';
import type { Socket } from 'node:net';
import type { Clock } from '../../core/clock.js';
import { createTlsFront, type TlsOptions } from '../tls/tls-front.js';
import { createTrustedProxies } from '../trusted-proxies.js';
import { attachFront, type Front, type Http2Options } from './h2-front.js';

export type { Http2Options } from './h2-front.js';
export type { TlsOptions } from '../tls/tls-front.js';

const fronts = new WeakMap<http.Server, Front>();

/** The gateway options the front reads. */
export interface FrontGatewayOptions {
  http2?: Http2Options;
  tls?: TlsOptions;
  max_header_bytes?: number;
  request_timeout?: number;
  headers_timeout?: number;
  /** Idle HTTP/2 connections (no open stream) are closed after it, as idle HTTP/1.1 ones. */
  keep_alive_timeout?: number;
  /** Never blocked after a flood (http2.block). */
  trusted_proxies?: readonly string[];
}

/** Attaches the front to `server` (after its 'request' listener is registered), when configured. */
export function attachFrontOf(server: http.Server, options: FrontGatewayOptions, clock: Clock): void {
  if (options.http2 === undefined && options.tls === undefined) return;
  const requestTimeout = options.request_timeout ?? 30_000;
  const firstByteTimeoutMs = options.headers_timeout ?? Math.min(requestTimeout, 20_000);
  // the TLS handshake is held to the same bound as the h2c sniffing and a request's headers
  const secure =
    options.tls === undefined
      ? undefined
      : createTlsFront(
          options.tls,
          options.http2 !== undefined ? ['h2', 'http/1.1'] : ['http/1.1'],
          firstByteTimeoutMs,
        );
  const onRequest = server.listeners('request')[0] as (
    req: http.IncomingMessage,
    res: http.ServerResponse,
  ) => void;
  const front = attachFront(
    server,
    {
      http2: options.http2,
      tls: secure?.server,
      maxHeaderBytes: options.max_header_bytes ?? 16_384,
      firstByteTimeoutMs,
      idleTimeoutMs: options.keep_alive_timeout ?? 5000,
      clock,
      trusted: createTrustedProxies(options.trusted_proxies),
    },
    onRequest,
  );
  // the file watcher stops with the listener
  if (secure !== undefined) server.once('close', () => secure.close());
  fronts.set(server, front);
}

/**
 * Hands a socket to `server`'s HTTP/1.1 side as a new connection: through the front when one is
 * attached (a TLS socket is already decrypted), else to node:http's own connection listener.
 */
export function toHttp1(server: http.Server, socket: Socket): void {
  const front = fronts.get(server);
  if (front !== undefined) return front.toH1(socket);
  server.emit('connection', socket);
}

/** The front attached to `server`, if any. */
export function frontOf(server: http.Server): Front | undefined {
  return fronts.get(server);
}
