/**
 * Upgrade passthrough (WebSocket, RFC 6455 §4; HTTP/1.1 Upgrade, RFC 9110 §7.8): the handshake
 * is forwarded with Connection/Upgrade kept (they are hop-by-hop, but an upgrade must be asked
 * of each hop again) and forwarding headers added, then the two sockets are spliced and bytes
 * flow untouched both ways. The upstream's answer (101 or a refusal) reaches the client as sent.
 * Admission applies to the handshake; the permit is released once the upstream has answered,
 * so long-lived sockets do not hold request concurrency.
 */
import http from 'node:http';
import net, { type Socket } from 'node:net';
import { ERRORS, formatMessage, type ErrorCode } from '../core/errors.js';
import { forwardRequestHeaders } from './forward-headers.js';
import type { GatewayState } from './pipeline/gateway-state.js';

/** One upgrade request as node's 'upgrade' event hands it over. */
export interface UpgradeRequest {
  req: http.IncomingMessage;
  socket: Socket;
  /** Bytes the client sent after the head (the first frames). */
  head: Buffer;
  clientIp: string;
}

/** Proxies one upgrade request; never throws. */
export function proxyUpgrade(g: GatewayState, upgrade: UpgradeRequest): void {
  const { req, socket, head, clientIp } = upgrade;
  const upgrades = g.upgrades;
  socket.on('error', () => socket.destroy());
  const fh = forwardRequestHeaders(req.rawHeaders, clientIp, req.httpVersion, g.forward);
  const requestId = fh.requestId ?? g.ids();
  if (fh.requestId === undefined) fh.headers.push('x-request-id', requestId);
  if (g.closing)
    return rawError(
      socket,
      'LS_ERR_GATEWAY_NO_UPSTREAM',
      { service: 'gateway (shutting down)' },
      { requestId },
    );
  if (fh.host === undefined) {
    return rawError(
      socket,
      'LS_ERR_GATEWAY_BAD_REQUEST',
      { reason: 'missing, duplicated or invalid Host' },
      { requestId },
    );
  }
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  const method = req.method ?? 'GET';
  const route = g.router.match(method, fh.host, path);
  if (route === undefined)
    return rawError(socket, 'LS_ERR_GATEWAY_NO_ROUTE', { method, path }, { requestId });
  const d = route.data;
  const svc = d.svc;
  const start = g.clock.now();
  g.signals?.onStart(d.label, svc.name);
  // Promise.resolve: admission answers at once or with a promise; an upgrade is rare enough.
  void Promise.resolve()
    .then(() => svc.admission.admit({ key: svc.keyOf(req, clientIp, d.label), route: d.label, now: start }))
    .then(
      (v) => {
        if (!v.ok) {
          g.signals?.onShed(d.label, svc.name, v.reason);
          return rawError(
            socket,
            v.code,
            { service: svc.name, ms: g.clock.now() - start },
            { requestId, status: v.status, headers: v.headers },
          );
        }
        const inst = svc.pool.pick({ now: g.clock.now(), hashKey: clientIp });
        if (inst === undefined || socket.destroyed) {
          v.permit.release({ ok: false, rttMs: 0 });
          g.signals?.onShed(d.label, svc.name, inst === undefined ? 'no_upstream' : 'client_gone');
          return rawError(socket, 'LS_ERR_GATEWAY_NO_UPSTREAM', { service: svc.name }, { requestId });
        }
        svc.pool.begin(inst);
        g.signals?.onDispatch?.(svc.name, inst.id);
        upgrades.add(socket);
        let lines = `${method} ${url} HTTP/1.1\r\n`;
        const h = fh.headers;
        for (let i = 0; i < h.length; i += 2) lines += `${h[i]}: ${h[i + 1]}\r\n`;
        lines += `Connection: Upgrade\r\nUpgrade: ${String(req.headers.upgrade ?? 'websocket')}\r\n\r\n`;
        const upstream = net.connect({ host: inst.hostname, port: inst.port });
        upstream.setNoDelay(true);
        upstream.setTimeout(d.connectTimeout);
        let connected = false;
        let answered = false;
        let bytesOut = 0;
        let status = 0;
        let done = false;
        const finish = (failure: boolean): void => {
          if (done) return;
          done = true;
          upgrades.delete(socket);
          if (!answered) v.permit.release({ ok: false, rttMs: g.clock.now() - start });
          const now = g.clock.now();
          svc.pool.end(inst, failure, undefined, now);
          g.signals?.onEnd({
            route: d.label,
            service: svc.name,
            operationId: route.operationId,
            instance: inst.id,
            status: status || 502,
            latencyMs: now - start,
            bytesIn: socket.bytesRead,
            bytesOut,
          });
        };
        upstream.once('connect', () => {
          connected = true;
          upstream.setTimeout(0);
          upstream.write(lines);
          if (head.length) upstream.write(head);
          socket.pipe(upstream);
          upstream.pipe(socket);
        });
        upstream.on('data', (chunk: Buffer) => {
          bytesOut += chunk.length;
          if (!answered) {
            answered = true;
            // "HTTP/1.1 101 ..." → status for signals.
            status = Number(chunk.subarray(9, 12).toString('latin1')) || 0;
            v.permit.release({ ok: status > 0 && status < 500, rttMs: g.clock.now() - start });
          }
        });
        upstream.once('timeout', () =>
          upstream.destroy(Object.assign(new Error('connect timeout'), { code: 'ETIMEDOUT' })),
        );
        upstream.once('error', (err: NodeJS.ErrnoException) => {
          if (!connected) {
            status = err.code === 'ETIMEDOUT' ? 504 : 502;
            finish(true);
            if (err.code === 'ETIMEDOUT')
              rawError(socket, 'LS_ERR_GATEWAY_UPSTREAM_TIMEOUT', { ms: d.connectTimeout }, { requestId });
            else
              rawError(
                socket,
                'LS_ERR_GATEWAY_UPSTREAM_ERROR',
                { reason: err.code ?? err.message },
                { requestId },
              );
          } else {
            socket.destroy();
          }
        });
        upstream.once('close', () => {
          finish(false);
          socket.destroy();
        });
        socket.once('close', () => upstream.destroy());
      },
      () => {
        g.signals?.onShed(d.label, svc.name, 'admission_error');
        rawError(socket, 'LS_ERR_GATEWAY_UPSTREAM_ERROR', { reason: 'admission failed' }, { requestId });
      },
    );
}

/** Writes a JSON error on a raw socket (no ServerResponse exists for upgrade requests) and closes. */
function rawError(
  socket: Socket,
  code: ErrorCode,
  params: Record<string, unknown>,
  options: { requestId: string; status?: number; headers?: Record<string, string> },
): void {
  if (!socket.writable) return void socket.destroy();
  const { requestId, status = ERRORS[code].status, headers: extra = {} } = options;
  const body = JSON.stringify({
    error: { code, message: formatMessage(ERRORS[code].message, params), requestId },
  });
  let extraLines = '';
  for (const [k, val] of Object.entries(extra)) extraLines += `${k}: ${val}\r\n`;
  socket.end(
    `HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nX-Request-Id: ${requestId}\r\n${extraLines}Connection: close\r\n\r\n${body}`,
  );
}
