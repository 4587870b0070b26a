/**
 * Upgrade passthrough (WebSocket, RFC 6455 §4; HTTP/1.1 Upgrade, RFC 9110 §7.8): the handshake
 * is forwarded with Connection/Upgrade kept (they are hop-by-hop, but an upgrade must be asked
 * of each hop again) and forwarding headers added, then the two sockets are spliced and bytes
 * flow untouched both ways, once the upstream has answered 101. The upstream's refusal (any
 * other answer) reaches the client, and the connection closes.
 * Admission applies to the handshake; the permit is released once the upstream has answered,
 * so long-lived sockets do not hold request concurrency.
 */
import http from 'node:http';
import type { Socket } from 'node:net';
import { ERRORS, formatMessage, type ErrorCode } from '../core/errors.js';
import { forwardRequestHeaders } from './forward-headers.js';
import { clientAddress } from './trusted-proxies.js';
import { presentedKey, withoutKeyHeader } from './pipeline/authenticate-stage.js';
import { rateLimitHeaders } from './admission/rate-limit-headers.js';
import type { GatewayState, RouteData } from './pipeline/gateway-state.js';
import type { Route } from './router.js';
import type { AdmitResult, Permit } from './seams.js';
import type { UpstreamInstance } from './upstream-pool.js';
import { normalisePath } from '../core/normalise-path.js';

/** One upgrade request as node's 'upgrade' event hands it over. */
export interface UpgradeRequest {
  req: http.IncomingMessage;
  socket: Socket;
  /** Bytes the client sent after the head (the first frames): forwarded after the handshake. */
  head: Buffer;
  /** The TCP peer's address (IPv4-mapped prefix removed). */
  peerIp: string;
}

/** One routed upgrade on its way: what the admission verdict and the splice need. */
interface Upgrade extends UpgradeRequest {
  g: GatewayState;
  requestId: string;
  /** The client's address (behind a trusted proxy, the one it forwarded). */
  clientIp: string;
  route: Route<RouteData>;
  method: string;
  url: string;
  /** Forwarded request headers (flat list). */
  headers: string[];
  start: number;
}

/** Proxies one upgrade request; never throws. */
export function proxyUpgrade(g: GatewayState, upgrade: UpgradeRequest): void {
  const { req, socket, peerIp } = upgrade;
  socket.on('error', () => socket.destroy());
  const trusted = g.trusted !== undefined && g.trusted.trusts(peerIp);
  const fh = forwardRequestHeaders(
    req.rawHeaders,
    peerIp,
    req.httpVersion,
    trusted ? g.forwardTrusted : g.forward,
  );
  const clientIp = trusted ? clientAddress(peerIp, fh, g.trusted!) : peerIp;
  const requestId = fh.requestId ?? g.ids();
  if (fh.requestId === undefined) fh.headers.push('x-request-id', requestId);
  if (g.closing)
    return rawError(
      socket,
      'LS_ERR_GATEWAY_NO_UPSTREAM',
      { service: 'gateway (shutting down)' },
      { requestId },
    );
  if (fh.host === undefined)
    return rawError(
      socket,
      'LS_ERR_GATEWAY_BAD_REQUEST',
      { reason: 'missing, duplicated or invalid Host' },
      { requestId },
    );
  let url = req.url ?? '/';
  const q = url.indexOf('?');
  // Matched in its normal form, as the route stage does (core/normalise-path.ts).
  const norm = url.includes('#')
    ? { refused: 'a request-target holds no fragment (#)' }
    : normalisePath(q < 0 ? url : url.slice(0, q));
  if ('refused' in norm)
    return rawError(socket, 'LS_ERR_GATEWAY_BAD_REQUEST', { reason: norm.refused }, { requestId });
  const path = norm.path;
  if (norm.dotSegments) url = path + (q < 0 ? '' : url.slice(q));
  const method = req.method ?? 'GET';
  const route = g.router.match(method, fh.host, path);
  if (route === undefined)
    return rawError(socket, 'LS_ERR_GATEWAY_NO_ROUTE', { method, path }, { requestId });
  const u: Upgrade = {
    ...upgrade,
    g,
    requestId,
    clientIp,
    route,
    method,
    url,
    headers: fh.headers,
    start: g.clock.now(),
  };
  const d = route.data;
  const svc = d.svc;
  g.signals?.onStart(d.label, svc.name);
  // Promise.resolve: admission answers at once or with a promise; an upgrade is rare enough.
  // A route with `auth: key` checks the handshake's key first (authenticate-stage.ts).
  void Promise.resolve(d.auth === undefined ? '' : upgradeConsumer(u))
    .then((consumer) =>
      typeof consumer !== 'string'
        ? consumer
        : svc.admission.admit({
            key: svc.keyOf(req, clientIp, d.label, consumer),
            route: d.label,
            now: u.start,
          }),
    )
    .then(
      (v) => (v === undefined ? unauthenticated(u) : onVerdict(u, v)),
      () => {
        g.signals?.onShed(d.label, svc.name, 'admission_error');
        rawError(socket, 'LS_ERR_GATEWAY_UPSTREAM_ERROR', { reason: 'admission failed' }, { requestId });
      },
    );
}

/** Shed, or pick an instance and splice. */
function onVerdict(u: Upgrade, v: AdmitResult): void {
  const { g, socket, requestId } = u;
  const d = u.route.data;
  const svc = d.svc;
  if (!v.ok) {
    g.signals?.onShed(d.label, svc.name, v.reason);
    return rawError(
      socket,
      v.code,
      { service: svc.name, ms: g.clock.now() - u.start },
      { requestId, status: v.status, headers: v.headers },
    );
  }
  const hashKey = svc.hashKeyOf === undefined ? undefined : svc.hashKeyOf(u.req, u.clientIp);
  const inst = svc.pool.pick({ now: g.clock.now(), hashKey });
  if (inst === undefined || socket.destroyed) {
    v.permit.release({ ok: false, rttMs: 0 });
    g.signals?.onShed(d.label, svc.name, inst === undefined ? 'no_upstream' : 'client_gone');
    return rawError(socket, 'LS_ERR_GATEWAY_NO_UPSTREAM', { service: svc.name }, { requestId });
  }
  svc.pool.begin(inst);
  g.signals?.onDispatch?.(svc.name, inst.id);
  g.upgrades.add(socket);
  splice(u, inst, v.permit);
}

/**
 * Sends the handshake through node's HTTP client (which frames the answer) and splices only on a
 * 101: the client's bytes, those sent with the request included, are held until then. Any other
 * answer is relayed to the client and both connections close, so an instance that ignores the
 * Upgrade (answers 200 and keeps its connection) never becomes a tunnel for the client's later
 * requests past routing, keys, admission and the access log ("upgrade smuggling").
 */
function splice(u: Upgrade, inst: UpstreamInstance, permit: Permit): void {
  const { g, socket, head, requestId } = u;
  const d = u.route.data;
  const upgradeTo = String(u.req.headers.upgrade ?? 'websocket');
  const headers = [...u.headers, 'Connection', 'Upgrade', 'Upgrade', upgradeTo];
  socket.pause();
  const st = { answered: false, bytesOut: 0, status: 0, done: false };
  const finish = (failure: boolean): void => {
    if (st.done) return;
    st.done = true;
    g.upgrades.delete(socket);
    if (!st.answered) permit.release({ ok: false, rttMs: g.clock.now() - u.start });
    const now = g.clock.now();
    d.svc.pool.end(inst, failure, undefined, now);
    g.signals?.onEnd({
      route: d.label,
      service: d.svc.name,
      operationId: u.route.operationId,
      instance: inst.id,
      status: st.status || 502,
      latencyMs: now - u.start,
      bytesIn: socket.bytesRead,
      bytesOut: st.bytesOut,
    });
  };
  const answered = (status: number): void => {
    st.answered = true;
    st.status = status;
    permit.release({ ok: status < 500, rttMs: g.clock.now() - u.start });
  };
  const upReq = http.request({
    host: inst.hostname,
    port: inst.port,
    method: u.method,
    path: u.url,
    headers,
    setHost: false,
    agent: false,
    timeout: d.connectTimeout,
  });
  upReq.once('socket', (s: Socket) => s.setNoDelay(true));
  upReq.once('timeout', () =>
    upReq.destroy(Object.assign(new Error('connect timeout'), { code: 'ETIMEDOUT' })),
  );
  upReq.once('upgrade', (res: http.IncomingMessage, upstream: Socket, upHead: Buffer) => {
    answered(101);
    upstream.setTimeout(0);
    let line = `HTTP/1.1 101 ${res.statusMessage || 'Switching Protocols'}\r\n`;
    const raw = res.rawHeaders;
    for (let i = 0; i < raw.length; i += 2) line += `${raw[i]}: ${raw[i + 1]}\r\n`;
    socket.write(`${line}\r\n`);
    if (upHead.length > 0) socket.write(upHead);
    st.bytesOut += Buffer.byteLength(line) + 2 + upHead.length;
    upstream.on('data', (chunk: Buffer) => (st.bytesOut += chunk.length));
    upstream.on('error', () => socket.destroy());
    upstream.once('close', () => {
      finish(false);
      socket.destroy();
    });
    socket.once('close', () => upstream.destroy());
    if (head.length > 0) upstream.write(head);
    socket.pipe(upstream);
    upstream.pipe(socket);
    socket.resume();
  });
  upReq.once('response', (res: http.IncomingMessage) => {
    // Refused (or ignored) upgrade: relayed whole, then both connections close (no splice).
    answered(res.statusCode ?? 502);
    res.socket.setTimeout(0);
    let line = `HTTP/1.1 ${res.statusCode} ${res.statusMessage ?? ''}\r\n`;
    const raw = res.rawHeaders;
    for (let i = 0; i < raw.length; i += 2) {
      const name = raw[i]!.toLowerCase();
      if (name === 'connection' || name === 'keep-alive' || name === 'transfer-encoding') continue;
      if (name === 'content-length' || name === 'upgrade') continue;
      line += `${raw[i]}: ${raw[i + 1]}\r\n`;
    }
    socket.write(`${line}Connection: close\r\n\r\n`);
    res.on('data', (chunk: Buffer) => (st.bytesOut += chunk.length));
    res.pipe(socket);
    res.once('end', () => {
      finish(false);
      upReq.destroy();
    });
    res.once('error', () => socket.destroy());
  });
  upReq.once('error', (err: NodeJS.ErrnoException) => {
    if (st.answered) return void socket.destroy();
    st.status = err.code === 'ETIMEDOUT' ? 504 : 502;
    finish(true);
    if (err.code === 'ETIMEDOUT')
      rawError(socket, 'LS_ERR_GATEWAY_UPSTREAM_TIMEOUT', { ms: d.connectTimeout }, { requestId });
    else
      rawError(socket, 'LS_ERR_GATEWAY_UPSTREAM_ERROR', { reason: err.code ?? err.message }, { requestId });
  });
  socket.once('close', () => {
    if (!st.answered) upReq.destroy();
  });
  upReq.end();
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

/**
 * The consumer of an upgrade on an `auth: key` route (its key header removed), undefined when it
 * has no valid key, or the 429 of the consumer's own limit (as the authenticate stage applies it).
 */
async function upgradeConsumer(u: Upgrade): Promise<string | undefined | AdmitResult> {
  const presented = presentedKey(u.req);
  if (presented === undefined) return undefined;
  const auth = u.route.data.auth!;
  const id = await auth.verify(presented.key);
  if (id === undefined) return undefined;
  u.headers = withoutKeyHeader(u.headers, presented.source);
  const limiter = auth.limiterOf?.(id.consumer);
  const v = limiter === undefined ? undefined : await limiter.take(id.consumer, u.g.clock.now());
  if (v === undefined || v.ok) return id.consumer;
  const headers = rateLimitHeaders(v);
  return {
    ok: false,
    status: 429,
    code: 'LS_ERR_GATEWAY_RATE_LIMITED',
    retryAfterS: v.retryAfterS,
    headers,
    reason: 'rate_limit',
  };
}

function unauthenticated(u: Upgrade): void {
  const d = u.route.data;
  u.g.signals?.onShed(d.label, d.svc.name, 'unauthenticated');
  rawError(
    u.socket,
    'LS_ERR_GATEWAY_UNAUTHENTICATED',
    { reason: 'a valid API key is required' },
    { requestId: u.requestId, headers: { 'www-authenticate': 'Bearer' } },
  );
}
