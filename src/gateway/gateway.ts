/**
 * The gateway: a node:http server in front, undici pools behind, and a per-request pipeline
 *   route → admission (rate limit, concurrency, queue) → balance → dispatch → stream back
 * with signals, passive health and the access log fed on the way out. Bodies stream both ways
 * with backpressure and are never buffered. One `Exchange` object per request carries all state
 * and is itself the undici dispatch handler, so the hot path allocates little beyond it.
 */
import { EventEmitter } from 'node:events';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Dispatcher } from 'undici';
import { systemClock, type Clock } from '../core/clock.js';
import { ERRORS, formatMessage, type ErrorCode } from '../core/errors.js';
import { createBalancer, type BalancerOptions } from './balancer.js';
import { forwardRequestHeaders, forwardResponseHeaders, type ForwardOptions } from './forward-headers.js';
import { createRetryBudget, type RetryBudget } from './retry-budget.js';
import { createRouter, type Route, type RouteOptions, type Router } from './router.js';
import type { AccessLogLike, AdmissionLike, AdmitResult, Permit, SignalsLike } from './seams.js';
import {
  createUpstreamPool,
  type HealthEvent,
  type HealthOptions,
  type InstanceSpec,
  type UpstreamInstance,
  type UpstreamOptions,
  type UpstreamPool,
} from './upstream-pool.js';
import { proxyUpgrade } from './upgrade-proxy.js';
import { createRequestIds } from './request-ids.js';
import { createAdmission, type TrafficOptions } from './admission/admission.js';

/**
 * A service's `traffic` section: admission's TrafficOptions (rate_limit, concurrency, queue) plus
 * what the proxy itself reads. Times in ms.
 */
export type ProxyTraffic = TrafficOptions & {
  /** Upstream timeouts: connect, response (headers), idle (between body chunks). */
  timeouts?: { connect?: number; response?: number; idle?: number };
  retries?: { budget_percent?: number };
  max_body?: number;
};

/** What a request validator sees (the OpenAPI importer compiles one per operation). */
export interface ValidatedRequest {
  pathParams: Record<string, string>;
  query: URLSearchParams;
  headers: http.IncomingHttpHeaders;
  contentType?: string;
  body?: unknown;
  hasBody: boolean;
}

/** Checks a request before it is admitted; null = valid, else the failing field (400). */
export type RequestValidatorFn = (req: ValidatedRequest) => null | { field: string; message: string };

/** A route with the per-route overrides the proxy honours (timeouts, retries, max_body). */
export interface GatewayRoute extends RouteOptions {
  traffic?: Pick<ProxyTraffic, 'timeouts' | 'retries' | 'max_body'>;
  /** Optional request validation (off unless set); a JSON body is then read whole (up to max_body) first. */
  validate?: RequestValidatorFn;
}

/** One service behind the gateway. */
export interface ServiceOptions {
  routes: GatewayRoute[];
  /** Passed whole to the admission factory; timeouts/retries/max_body are read here too. */
  traffic?: ProxyTraffic;
  balancer?: BalancerOptions;
  health?: HealthOptions;
  upstream?: UpstreamOptions;
  /** Initial instances (more come through setInstances). */
  instances?: InstanceSpec[];
}

/** Gateway options; every time is in ms, every size in bytes. */
export interface GatewayOptions {
  services: Record<string, ServiceOptions>;
  /** 431 beyond this header size (node's maxHeaderSize; default 16 384). */
  max_header_bytes?: number;
  /** 408 when a whole request is not received in time (default 30 000). */
  request_timeout?: number;
  /** 408 when headers are not received in time (default min(request_timeout, 20 000)). */
  headers_timeout?: number;
  /** Client keep-alive idle time (default 5000). */
  keep_alive_timeout?: number;
  /** Append to incoming Forwarded / X-Forwarded-* instead of replacing them (default false). */
  trust_forwarded?: boolean;
  /** Via pseudonym (default `luascale`). */
  via?: string;
  clock?: Clock;
  /** Admission per service; default: admission/admission.ts. */
  admission?: (traffic: ProxyTraffic, clock: Clock, service: string) => AdmissionLike;
  /** Signals sink; default: signals/signals.ts. */
  signals?: SignalsLike;
  /** Access log; default: none. */
  accessLog?: AccessLogLike;
}

/** A running (or ready to run) gateway. */
export interface Gateway extends GatewayControl {
  readonly server: http.Server;
  listen(port?: number, host?: string): Promise<AddressInfo>;
  setInstances(service: string, instances: readonly InstanceSpec[]): void;
}

/** What the app drives: the in-process Gateway has it, and so does the primary of N workers (start-gateway.ts). */
export interface GatewayControl {
  /** Health transitions: 'health' (HealthEvent). */
  readonly events: EventEmitter;
  setInstances(service: string, instances: readonly InstanceSpec[]): void | Promise<void>;
  addInstance(service: string, instance: InstanceSpec): void;
  removeInstance(service: string, id: string): boolean;
  /** Stops new requests to the instance and waits for in-flight ones up to timeoutMs (default 30 000). */
  drain(
    service: string,
    id: string,
    options?: { timeoutMs?: number },
  ): Promise<{ drained: boolean; inflight: number }>;
  /** Live view of a service's instances (with workers: summed in-flight, the worst health). */
  instances(service: string): InstanceView[];
  /** Admission queue / in-flight / limit for a service (with workers: summed). */
  admissionStats(service: string): { queue: number; inflight: number; limit: number };
  /** Stops accepting, lets in-flight requests finish up to graceMs (default 30 000), then closes. */
  close(options?: { graceMs?: number }): Promise<void>;
}

/** One instance as reported by {@link Gateway.instances}. */
export interface InstanceView {
  id: string;
  url: string;
  state: 'ready' | 'draining' | 'removed';
  health: string;
  inflight: number;
  ewmaMs: number;
  weight: number;
}

interface ServiceRuntime {
  name: string;
  pool: UpstreamPool;
  admission: AdmissionLike;
  retryBudget: RetryBudget;
  /** 0 ip, 1 route, 2 global, 3 header, 4 api_key. */
  rateKeyKind: number;
  rateKeyHeader: string;
  /** The admission key of a request (rate_limit.key), shared by HTTP and upgrade requests. */
  keyOf(req: http.IncomingMessage, ip: string, label: string): string;
  /** 0 none, 1 ip, 2 header, 3 cookie. */
  hashKind: number;
  hashName: string;
}

interface RouteData {
  svc: ServiceRuntime;
  label: string;
  validate: RequestValidatorFn | undefined;
  maxBody: number;
  connectTimeout: number;
  responseTimeout: number;
  idleTimeout: number;
  retries: boolean;
}

interface GatewayState {
  clock: Clock;
  router: Router<RouteData>;
  services: Map<string, ServiceRuntime>;
  forward: ForwardOptions;
  signals: SignalsLike | undefined;
  accessLog: AccessLogLike | undefined;
  ids: () => string;
  active: number;
  closing: boolean;
  idle: (() => void) | undefined;
}

const DEFAULT_CONNECT = 5000;
const DEFAULT_RESPONSE = 60_000;
const DEFAULT_IDLE = 300_000;
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);
// Errors where the request never reached the upstream application (safe to retry idempotently).
const CONNECT_ERRORS = new Set([
  'ECONNREFUSED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'UND_ERR_CONNECT_TIMEOUT',
]);
// The connection died under a sent request (killed instance, RST): retried only before a response.
const RESET_ERRORS = new Set(['UND_ERR_SOCKET', 'ECONNRESET', 'EPIPE']);
const TIMEOUT_ERRORS = new Set([
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_CONNECT_TIMEOUT',
]);

/** Signals the retry path inside an aborted attempt. */
class RetrySignal extends Error {}
/** Raised by the body limiter when a chunked body grows past max_body. */
class BodyTooLarge extends Error {}

/** Builds a gateway from options; call `listen()` to serve. */
export function createGateway(options: GatewayOptions): Gateway {
  const clock = options.clock ?? systemClock;
  const events = new EventEmitter();
  const services = new Map<string, ServiceRuntime>();
  const entries: { service: string; route: RouteOptions; data: RouteData }[] = [];
  const makeAdmission =
    options.admission ?? ((traffic: ProxyTraffic, c: Clock) => createAdmission(traffic, c));
  for (const [name, svc] of Object.entries(options.services)) {
    const traffic = svc.traffic ?? {};
    const admission = makeAdmission(traffic, clock, name);
    const balancer = createBalancer(svc.balancer ?? {});
    const pool = createUpstreamPool({
      service: name,
      balancer,
      clock,
      health: svc.health,
      upstream: svc.upstream,
      decayMs: svc.balancer?.decay_ms,
      onReadyChange: (n) => admission.setReadyInstances(n),
      onRemoved: (id) => options.signals?.forgetInstance?.(name, id),
    });
    pool.events.on('health', (e: HealthEvent) => events.emit('health', e));
    const rk = parseRateKey(traffic.rate_limit?.key);
    const hk = parseHashKey(svc.balancer);
    const runtime: ServiceRuntime = {
      name,
      pool,
      admission,
      retryBudget: createRetryBudget({ percent: traffic.retries?.budget_percent ?? 20 }),
      rateKeyKind: rk.kind,
      rateKeyHeader: rk.name,
      keyOf: (req, ip, label) => rateKey(runtime, req, ip, label),
      hashKind: hk.kind,
      hashName: hk.name,
    };
    services.set(name, runtime);
    admission.setReadyInstances(0);
    for (const r of svc.routes) {
      const t = r.traffic ?? {};
      entries.push({
        service: name,
        route: r,
        data: {
          svc: runtime,
          label: '',
          validate: (r as GatewayRoute).validate,
          maxBody: r.max_body ?? t.max_body ?? traffic.max_body ?? Infinity,
          connectTimeout:
            r.timeouts?.connect ?? t.timeouts?.connect ?? traffic.timeouts?.connect ?? DEFAULT_CONNECT,
          responseTimeout:
            r.timeouts?.response ?? t.timeouts?.response ?? traffic.timeouts?.response ?? DEFAULT_RESPONSE,
          idleTimeout: r.timeouts?.idle ?? t.timeouts?.idle ?? traffic.timeouts?.idle ?? DEFAULT_IDLE,
          retries: (t.retries?.budget_percent ?? traffic.retries?.budget_percent ?? 20) > 0,
        },
      });
    }
    if (svc.instances) pool.setInstances(svc.instances);
  }
  const router = createRouter(entries);
  for (const r of router.routes) (r.data as { label: string }).label = r.template;

  const state: GatewayState = {
    clock,
    router,
    services,
    forward: { trust: options.trust_forwarded ?? false, via: options.via ?? 'luascale' },
    signals: options.signals,
    accessLog: options.accessLog,
    ids: createRequestIds(),
    active: 0,
    closing: false,
    idle: undefined,
  };

  const requestTimeout = options.request_timeout ?? 30_000;
  const server = http.createServer({
    maxHeaderSize: options.max_header_bytes ?? 16_384,
    requestTimeout,
    headersTimeout: options.headers_timeout ?? Math.min(requestTimeout, 20_000),
    keepAliveTimeout: options.keep_alive_timeout ?? 5000,
    // node checks request/headers timeouts on this period; a fraction of the timeout keeps 408s prompt.
    connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(requestTimeout / 4))),
    requireHostHeader: true,
    noDelay: true,
  });
  server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    // Catch at the edge: a bug must cost one request, never the process (house style: errors).
    try {
      onRequest(state, req, res);
    } catch (err) {
      internalError(res, err);
    }
  });
  // Expect: 100-continue (RFC 9110 §10.1.1): answer 100 only once the request is routed, within
  // max_body and admitted, so a rejected upload is refused before its body is sent.
  server.on('checkContinue', (req: http.IncomingMessage, res: http.ServerResponse) => {
    try {
      onRequest(state, req, res, true);
    } catch (err) {
      internalError(res, err);
    }
  });
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) =>
    onClientError(err, socket, requestTimeout),
  );
  const upgrades = new Set<Socket>();
  server.on('upgrade', (req: http.IncomingMessage, socket: Socket, head: Buffer) =>
    onUpgrade(state, req, socket, head, upgrades),
  );

  function svcOf(name: string): ServiceRuntime {
    const s = services.get(name);
    if (!s) throw new RangeError(`unknown service "${name}" (known: ${[...services.keys()].join(', ')})`);
    return s;
  }

  let closed: Promise<void> | undefined;
  async function close(opts: { graceMs?: number } = {}): Promise<void> {
    if (closed) return closed;
    closed = (async () => {
      state.closing = true;
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const grace = opts.graceMs ?? 30_000;
      if (state.active > 0) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, grace);
          state.idle = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
      server.closeAllConnections();
      for (const s of upgrades) s.destroy();
      await stopped;
      for (const s of services.values()) s.admission.close?.();
      await Promise.all([...services.values()].map((s) => s.pool.close()));
    })();
    return closed;
  }

  return {
    server,
    events,
    listen(port = 0, host = '127.0.0.1') {
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          resolve(server.address() as AddressInfo);
        });
      });
    },
    setInstances: (service, list) => svcOf(service).pool.setInstances(list),
    addInstance: (service, inst) => svcOf(service).pool.addInstance(inst),
    removeInstance: (service, id) => svcOf(service).pool.removeInstance(id),
    drain: (service, id, o = {}) => svcOf(service).pool.drain(id, o.timeoutMs ?? 30_000),
    instances: (service) =>
      svcOf(service)
        .pool.all()
        .map((i) => ({
          id: i.id,
          url: i.url,
          state: i.state,
          health: i.health.status,
          inflight: i.inflight,
          ewmaMs: i.ewmaMs,
          weight: i.weight,
        })),
    admissionStats: (service) => svcOf(service).admission.stats(),
    close,
  };
}

function parseRateKey(key: string | undefined): { kind: number; name: string } {
  if (key === undefined || key === 'ip') return { kind: 0, name: '' };
  if (key === 'route') return { kind: 1, name: '' };
  if (key === 'global') return { kind: 2, name: '' };
  if (key === 'api_key') return { kind: 4, name: '' };
  if (key.startsWith('header:')) return { kind: 3, name: key.slice(7).toLowerCase() };
  throw new RangeError(`rate_limit.key: expected ip, route, global, api_key or header:<name>, got "${key}"`);
}

function parseHashKey(b: BalancerOptions | undefined): { kind: number; name: string } {
  if (b?.algorithm !== 'consistent-hash') return { kind: 0, name: '' };
  const key = b.hash_key ?? 'ip';
  if (key === 'ip') return { kind: 1, name: '' };
  if (key.startsWith('header:')) return { kind: 2, name: key.slice(7).toLowerCase() };
  if (key.startsWith('cookie:')) return { kind: 3, name: key.slice(7) };
  throw new RangeError(`balancer.hash_key: expected ip, header:<name> or cookie:<name>, got "${key}"`);
}

/** The client address without the IPv4-mapped prefix (`::ffff:1.2.3.4` → `1.2.3.4`). */
function clientIpOf(socket: Socket): string {
  const a = socket.remoteAddress ?? '';
  return a.startsWith('::ffff:') ? a.slice(7) : a;
}

/** Writes a JSON error `{ error: { code, message, requestId } }` with the code's status. */
export function sendError(
  res: http.ServerResponse,
  code: ErrorCode,
  params: Record<string, unknown>,
  requestId: string,
  extra?: Record<string, string>,
  status?: number,
): void {
  const body = JSON.stringify({
    error: { code, message: formatMessage(ERRORS[code].message, params), requestId },
  });
  const headers: Record<string, string | number> = {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    'x-request-id': requestId,
    'cache-control': 'no-store',
  };
  if (extra) Object.assign(headers, extra);
  res.writeHead(status ?? ERRORS[code].status, headers);
  res.end(body);
}

/** Answers 502 for an unexpected exception (when the head is not out yet) or cuts the connection. */
function internalError(res: http.ServerResponse, err: unknown): void {
  if (!res.headersSent && !res.destroyed) {
    res.shouldKeepAlive = false;
    sendError(
      res,
      'LS_ERR_GATEWAY_UPSTREAM_ERROR',
      { reason: `internal: ${(err as Error)?.message ?? String(err)}` },
      '',
    );
  } else {
    res.destroy();
  }
}

/** Malformed requests never reach 'request': answer here in JSON, then close (node's default is plain text). */
function onClientError(err: NodeJS.ErrnoException, socket: Socket, requestTimeoutMs: number): void {
  const msg = socket as Socket & { _httpMessage?: http.ServerResponse };
  if (!socket.writable || (msg._httpMessage && msg._httpMessage.headersSent)) {
    socket.destroy();
    return;
  }
  let status = 400;
  let code: ErrorCode = 'LS_ERR_GATEWAY_BAD_REQUEST';
  let params: Record<string, unknown> = {
    reason:
      err.code === 'HPE_INVALID_TRANSFER_ENCODING' || err.code === 'HPE_UNEXPECTED_CONTENT_LENGTH'
        ? err.message.replace(/^Parse Error: /, '')
        : 'malformed request',
  };
  if (err.code === 'HPE_HEADER_OVERFLOW') {
    status = 431;
    code = 'LS_ERR_GATEWAY_HEADERS_TOO_LARGE';
    params = {};
  } else if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    status = 408;
    code = 'LS_ERR_GATEWAY_REQUEST_TIMEOUT';
    params = { ms: requestTimeoutMs };
  }
  const body = JSON.stringify({ error: { code, message: formatMessage(ERRORS[code].message, params) } });
  socket.end(
    `HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

function onRequest(
  g: GatewayState,
  req: http.IncomingMessage,
  res: http.ServerResponse,
  expectContinue = false,
): void {
  const now = g.clock.now();
  const clientIp = clientIpOf(req.socket);
  const fh = forwardRequestHeaders(req.rawHeaders, clientIp, req.httpVersion, g.forward);
  let requestId = fh.requestId;
  if (requestId === undefined) {
    requestId = g.ids();
    fh.headers.push('x-request-id', requestId);
  }
  if (g.closing) res.shouldKeepAlive = false;
  let url = req.url ?? '/';
  if (url.charCodeAt(0) !== 47) {
    // absolute-form (RFC 9112 §3.2.2) is accepted and reduced to origin-form; authority-form and
    // asterisk-form are not meaningful for a reverse proxy.
    const m = /^https?:\/\/[^/?#]+(.*)$/i.exec(url);
    if (m === null)
      return sendError(
        res,
        'LS_ERR_GATEWAY_BAD_REQUEST',
        { reason: 'request-target must be origin-form' },
        requestId,
      );
    url = m[1] === '' ? '/' : m[1]!.charCodeAt(0) === 47 ? m[1]! : '/' + m[1];
  }
  if (fh.host === undefined && req.httpVersion !== '1.0') {
    // RFC 9112 §3.2: exactly one Host with a valid value, else 400.
    return sendError(
      res,
      'LS_ERR_GATEWAY_BAD_REQUEST',
      { reason: 'missing, duplicated or invalid Host' },
      requestId,
    );
  }
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  const method = req.method!;
  const route = g.router.match(method, fh.host, path);
  if (route === undefined) return sendError(res, 'LS_ERR_GATEWAY_NO_ROUTE', { method, path }, requestId);
  const d = route.data;
  if (d.validate !== undefined)
    return validateThenProxy(
      g,
      req,
      res,
      route,
      method,
      url,
      path,
      q,
      fh,
      requestId,
      clientIp,
      now,
      expectContinue,
    );
  proxy(g, req, res, route, method, url, fh, requestId, clientIp, now, expectContinue, undefined);
}

/** Everything after routing: body framing, the exchange, admission. `buffered` is a body already read whole. */
function proxy(
  g: GatewayState,
  req: http.IncomingMessage,
  res: http.ServerResponse,
  route: Route<RouteData>,
  method: string,
  url: string,
  fh: ReturnType<typeof forwardRequestHeaders>,
  requestId: string,
  clientIp: string,
  now: number,
  expectContinue: boolean,
  buffered: Buffer | undefined,
): void {
  const d = route.data;
  const svc = d.svc;
  g.signals?.onStart(d.label, svc.name);

  // Framing was validated by node's parser (CL+TE and duplicate CL never get here).
  const cl = fh.contentLength;
  const ex = new Exchange(g, req, res, route, method, url, fh.headers, requestId, clientIp, now);
  ex.expectContinue = expectContinue;
  if (buffered !== undefined) {
    ex.body = buffered;
    ex.bytesIn = buffered.length;
  } else if (cl !== undefined && cl !== '0') {
    const n = Number(cl);
    if (n > d.maxBody) {
      res.shouldKeepAlive = false; // the unread body makes the connection unusable
      g.signals?.onShed(d.label, svc.name, 'body_too_large');
      return sendError(res, 'LS_ERR_GATEWAY_BODY_TOO_LARGE', { limit: d.maxBody }, requestId);
    }
    ex.body = req;
    ex.bytesIn = n;
  } else if (fh.chunked) {
    // undici streams any async iterable as a chunked body (its typings list only Readable).
    ex.body = countBody(ex, req, d.maxBody) as unknown as Dispatcher.DispatchOptions['body'];
  }
  g.active++;
  (res as ResWithExchange)[kExchange] = ex;
  res.on('close', onResClose); // `on`, not `once`: 'close' fires once and `once` allocates a wrapper
  let verdict: AdmitResult | Promise<AdmitResult>;
  try {
    verdict = svc.admission.admit({ key: rateKey(svc, req, clientIp, d.label), route: d.label, now });
  } catch (err) {
    return ex.onVerdict(err);
  }
  if (verdict instanceof Promise) verdict.then(ex.onVerdict, ex.onVerdict);
  else ex.onVerdict(verdict);
}

/**
 * Validates a request against its operation before admission (OpenAPI validation, off by default).
 * A JSON body is read whole, up to the route's max_body, parsed and checked, then sent upstream as
 * that buffer; any other body streams as usual. A failure is a 400 naming the field.
 */
function validateThenProxy(
  g: GatewayState,
  req: http.IncomingMessage,
  res: http.ServerResponse,
  route: Route<RouteData>,
  method: string,
  url: string,
  path: string,
  q: number,
  fh: ReturnType<typeof forwardRequestHeaders>,
  requestId: string,
  clientIp: string,
  now: number,
  expectContinue: boolean,
): void {
  const d = route.data;
  const ct = String(req.headers['content-type'] ?? '')
    .split(';')[0]!
    .trim()
    .toLowerCase();
  const hasBody = (fh.contentLength !== undefined && fh.contentLength !== '0') || fh.chunked;
  const parts: ValidatedRequest = {
    pathParams: templateParams(route.template, path),
    query: new URLSearchParams(q < 0 ? '' : url.slice(url.indexOf('?') + 1)),
    headers: req.headers,
    contentType: ct || undefined,
    hasBody,
  };
  const reject = (field: string, message: string) => {
    g.signals?.onStart(d.label, d.svc.name);
    g.signals?.onShed(d.label, d.svc.name, 'invalid_request');
    if (hasBody) res.shouldKeepAlive = false; // the unread body makes the connection unusable
    sendError(res, 'LS_ERR_GATEWAY_INVALID_REQUEST', { field, message }, requestId);
  };
  if (!hasBody || !/json/.test(ct)) {
    const v = d.validate!(parts);
    if (v) return reject(v.field, v.message);
    return proxy(g, req, res, route, method, url, fh, requestId, clientIp, now, expectContinue, undefined);
  }
  if (Number(fh.contentLength ?? 0) > d.maxBody) {
    res.shouldKeepAlive = false;
    return sendError(res, 'LS_ERR_GATEWAY_BODY_TOO_LARGE', { limit: d.maxBody }, requestId);
  }
  if (expectContinue) res.writeContinue();
  const chunks: Buffer[] = [];
  let size = 0;
  let failed = false;
  req.on('data', (c: Buffer) => {
    size += c.length;
    if (size > d.maxBody && !failed) {
      failed = true;
      res.shouldKeepAlive = false;
      sendError(res, 'LS_ERR_GATEWAY_BODY_TOO_LARGE', { limit: d.maxBody }, requestId);
      req.resume();
    } else if (!failed) chunks.push(c);
  });
  req.on('end', () => {
    if (failed) return;
    const body = Buffer.concat(chunks);
    try {
      parts.body = JSON.parse(body.toString('utf8'));
    } catch (err) {
      return reject('body', `is not valid JSON (${(err as Error).message})`);
    }
    const v = d.validate!(parts);
    if (v) return reject(v.field, v.message);
    proxy(g, req, res, route, method, url, fh, requestId, clientIp, now, false, body);
  });
  req.on('error', () => {});
}

/** Values of `{name}` segments of a template in a concrete path (`/users/{id}` + `/users/7` → { id: '7' }). */
export function templateParams(template: string, path: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (!template.includes('{')) return out;
  const t = template.split('/');
  const p = path.split('/');
  for (let i = 0; i < t.length && i < p.length; i++) {
    const m = /^\{([^}]+)\}$/.exec(t[i]!);
    if (m) {
      try {
        out[m[1]!] = decodeURIComponent(p[i]!);
      } catch {
        out[m[1]!] = p[i]!;
      }
    }
  }
  return out;
}

const kExchange = Symbol('luascale.exchange');
type ResWithExchange = http.ServerResponse & { [kExchange]?: Exchange };

/** One shared 'close' listener (EventEmitter passes the response as `this`): no closure per request. */
function onResClose(this: ResWithExchange): void {
  const ex = this[kExchange];
  this[kExchange] = undefined;
  ex?.onClientClose();
}

function rateKey(svc: ServiceRuntime, req: http.IncomingMessage, ip: string, label: string): string {
  switch (svc.rateKeyKind) {
    case 0:
      return ip;
    case 1:
      return label;
    case 2:
      return '*';
    case 3: {
      const v = req.headers[svc.rateKeyHeader];
      return typeof v === 'string' ? v : ip;
    }
    default: {
      const k = req.headers['x-api-key'] ?? req.headers.authorization;
      return typeof k === 'string' ? k : ip;
    }
  }
}

function hashKeyOf(svc: ServiceRuntime, req: http.IncomingMessage, ip: string): string | undefined {
  switch (svc.hashKind) {
    case 0:
      return undefined;
    case 1:
      return ip;
    case 2: {
      const v = req.headers[svc.hashName];
      return typeof v === 'string' ? v : ip;
    }
    default: {
      const cookie = req.headers.cookie;
      if (cookie) {
        for (const part of cookie.split(';')) {
          const eq = part.indexOf('=');
          if (eq > 0 && part.slice(0, eq).trim() === svc.hashName) return part.slice(eq + 1).trim();
        }
      }
      return ip;
    }
  }
}

function hasContentLength(flat: string[]): boolean {
  for (let i = 0; i < flat.length; i += 2) {
    const k = flat[i]!;
    if (k.length === 14 && k.toLowerCase() === 'content-length') return true;
  }
  return false;
}

/** Streams a chunked body through, counting it and failing once it exceeds `max` bytes (413). */
async function* countBody(ex: Exchange, req: http.IncomingMessage, max: number): AsyncGenerator<Buffer> {
  for await (const chunk of req) {
    ex.bytesIn += (chunk as Buffer).length;
    if (ex.bytesIn > max) throw new BodyTooLarge(String(max));
    yield chunk as Buffer;
  }
}

/**
 * One client request and its upstream attempts. Implements undici's dispatch handler
 * (onConnect/onHeaders/onData/onComplete/onError), so no per-request closures are needed beyond
 * the two bound callbacks below.
 */
class Exchange implements Dispatcher.DispatchHandler {
  readonly g: GatewayState;
  readonly req: http.IncomingMessage;
  readonly res: http.ServerResponse;
  readonly route: Route<RouteData>;
  readonly method: string;
  readonly url: string;
  readonly headers: string[];
  body: Dispatcher.DispatchOptions['body'] = null;
  readonly requestId: string;
  readonly clientIp: string;
  readonly start: number;
  permit: Permit | undefined = undefined;
  /** RateLimit-* headers from admission, added to the response. */
  admitHeaders: Record<string, string> | undefined = undefined;
  queuedMs = 0;
  inst: UpstreamInstance | undefined = undefined;
  attempts = 0;
  attemptStart = 0;
  upstreamMs = 0;
  status = 0;
  bytesIn = 0;
  bytesOut = 0;
  abortFn: ((err?: Error) => void) | undefined = undefined;
  resumeFn: (() => void) | undefined = undefined;
  retrying = false;
  clientGone = false;
  /** The client sent Expect: 100-continue and waits for our 100 before its body. */
  expectContinue = false;
  responded = false;
  finished = false;
  dispatched = false;

  constructor(
    g: GatewayState,
    req: http.IncomingMessage,
    res: http.ServerResponse,
    route: Route<RouteData>,
    method: string,
    url: string,
    headers: string[],
    requestId: string,
    clientIp: string,
    start: number,
  ) {
    this.g = g;
    this.req = req;
    this.res = res;
    this.route = route;
    this.method = method;
    this.url = url;
    this.headers = headers;
    this.requestId = requestId;
    this.clientIp = clientIp;
    this.start = start;
  }

  /** One closure for both outcomes of the admission promise (a verdict, or a rejection). */
  onVerdict = (v: AdmitResult | unknown): void => {
    if (v === null || typeof v !== 'object' || !('ok' in v)) return this.onAdmitError(v);
    try {
      this.admitted(v as AdmitResult);
    } catch (err) {
      // An exception here would otherwise become an unhandled rejection.
      internalError(this.res, err);
      this.finish();
    }
  };

  admitted(v: AdmitResult): void {
    const d = this.route.data;
    if (!v.ok) {
      this.shedReason = v.reason;
      this.reply(
        v.code,
        { service: d.svc.name, ms: this.g.clock.now() - this.start },
        v.headers,
        v.status,
        v.retryAfterS,
      );
      this.finish();
      return;
    }
    this.permit = v.permit;
    this.queuedMs = v.queuedMs;
    this.admitHeaders = v.headers;
    if (this.res.destroyed) {
      this.shedReason = 'client_gone'; // gave up while queued
      return this.finish();
    }
    d.svc.retryBudget.deposit(this.start);
    if (this.expectContinue) this.res.writeContinue();
    this.dispatch(undefined);
  }

  onAdmitError(err: unknown): void {
    this.shedReason = 'admission_error';
    this.reply('LS_ERR_GATEWAY_UPSTREAM_ERROR', { reason: `admission failed: ${(err as Error)?.message}` });
    this.finish();
  }

  /** Client went away: abort the upstream side (an SSE stream would otherwise run on). */
  onClientClose(): void {
    if (this.finished) return;
    this.clientGone = true;
    // Still queued in admission: onAdmit notices res.destroyed and releases at once.
    if (this.abortFn !== undefined) this.abortFn(new Error('client closed'));
  }

  /** Bound lazily: only responses that hit backpressure need it. */
  onDrain: (() => void) | undefined = undefined;

  dispatch(exclude: UpstreamInstance | undefined): void {
    const d = this.route.data;
    const svc = d.svc;
    const now = this.g.clock.now();
    const hashKey = svc.hashKind === 0 ? undefined : hashKeyOf(svc, this.req, this.clientIp);
    const inst = svc.pool.pick({ now, hashKey }, exclude);
    if (inst === undefined) {
      if (this.attempts === 0) this.shedReason = 'no_upstream';
      this.reply('LS_ERR_GATEWAY_NO_UPSTREAM', { service: svc.name }, { 'retry-after': '1' });
      this.finish();
      return;
    }
    this.inst = inst;
    if (this.attempts === 0) {
      this.firstInstance = inst.id;
      this.g.signals?.onDispatch?.(svc.name, inst.id);
    }
    this.attempts++;
    this.attemptStart = now;
    this.dispatched = true;
    svc.pool.begin(inst);
    svc.pool.dispatcher(inst, d.connectTimeout).dispatch(
      {
        origin: inst.url,
        path: this.url,
        method: this.method as Dispatcher.HttpMethod,
        headers: this.headers,
        body: this.body,
        headersTimeout: d.responseTimeout,
        bodyTimeout: d.idleTimeout,
        upgrade: null,
      },
      this,
    );
  }

  onConnect(abort: (err?: Error) => void): void {
    this.abortFn = abort;
    if (this.res.destroyed) abort(new Error('client closed'));
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void, _statusText: string): boolean {
    if (statusCode < 200) return true; // informational responses are per hop (RFC 9110 §15.2)
    const inst = this.inst!;
    // Retry a 503 from an instance we are draining, for idempotent requests without a body.
    if (statusCode === 503 && inst.state !== 'ready' && this.canRetry()) {
      this.retrying = true;
      this.abortFn!(new RetrySignal('draining'));
      return false;
    }
    this.status = statusCode;
    this.upstreamMs = this.g.clock.now() - this.attemptStart;
    const res = this.res;
    if (res.destroyed) return false;
    try {
      const out = forwardResponseHeaders(rawHeaders, this.requestId, this.g.forward.via);
      const extra = this.admitHeaders;
      if (extra !== undefined) for (const k in extra) out.push(k, extra[k]!);
      res.writeHead(statusCode, out);
      // A body of unknown length (SSE, chunked streams) may trickle: send the head now so the
      // client sees the response start; sized bodies follow at once and go out with the head.
      if (!hasContentLength(out)) res.flushHeaders();
    } catch {
      // The upstream sent a header node refuses to write: treat as a malformed upstream.
      this.status = 0;
      this.abortFn!(new Error('invalid upstream header'));
      return false;
    }
    this.responded = true;
    this.resumeFn = resume;
    return true;
  }

  onData(chunk: Buffer): boolean {
    this.bytesOut += chunk.length;
    if (this.res.write(chunk)) return true;
    this.res.once('drain', (this.onDrain ??= () => this.resumeFn?.()));
    return false;
  }

  onComplete(_trailers: string[] | null): void {
    this.abortFn = undefined;
    this.res.end();
    this.endAttempt(this.status >= 500);
    this.finish();
  }

  onError(err: Error): void {
    this.abortFn = undefined;
    const code = (err as NodeJS.ErrnoException).code ?? '';
    // A reset before any response byte (the instance was killed mid-request) is as retryable as a
    // refused connect for idempotent methods: RFC 9110 §9.2.2 allows the automatic retry.
    const connectError = CONNECT_ERRORS.has(code) || (RESET_ERRORS.has(code) && !this.responded);
    const prev = this.inst;
    if (this.retrying || err instanceof RetrySignal) {
      this.retrying = false;
      this.endAttempt(false);
      this.route.data.svc.retryBudget.tryWithdraw(this.g.clock.now());
      return this.dispatch(prev);
    }
    // Passive health counts upstream faults only, not a client that left or sent too much.
    this.endAttempt(!this.clientGone && !(err instanceof BodyTooLarge));
    if (this.responded || this.res.headersSent) {
      // Mid-stream failure: the status line is gone, so cut the connection (the client sees a
      // truncated body rather than a wrong one).
      this.res.destroy();
      return this.finish();
    }
    if (this.res.destroyed) return this.finish();
    if (connectError && this.canRetry() && this.route.data.svc.retryBudget.tryWithdraw(this.g.clock.now())) {
      return this.dispatch(prev);
    }
    const d = this.route.data;
    if (err instanceof BodyTooLarge) {
      this.res.shouldKeepAlive = false;
      this.reply('LS_ERR_GATEWAY_BODY_TOO_LARGE', { limit: d.maxBody });
    } else if (TIMEOUT_ERRORS.has(code)) {
      const ms =
        code === 'UND_ERR_CONNECT_TIMEOUT'
          ? d.connectTimeout
          : code === 'UND_ERR_BODY_TIMEOUT'
            ? d.idleTimeout
            : d.responseTimeout;
      this.reply('LS_ERR_GATEWAY_UPSTREAM_TIMEOUT', { ms });
    } else {
      this.reply('LS_ERR_GATEWAY_UPSTREAM_ERROR', { reason: code || err.message });
    }
    this.finish();
  }

  /** Retries need an idempotent method (RFC 9110 §9.2.2), no request body, and budget. */
  canRetry(): boolean {
    return (
      this.body === null &&
      this.attempts < 3 &&
      this.route.data.retries &&
      IDEMPOTENT.has(this.method) &&
      this.route.data.svc.retryBudget.balance(this.g.clock.now()) >= 1
    );
  }

  endAttempt(failure: boolean): void {
    const inst = this.inst;
    if (inst === undefined) return;
    this.inst = undefined;
    this.lastInstance = inst.id;
    const now = this.g.clock.now();
    this.route.data.svc.pool.end(inst, failure, failure ? undefined : now - this.attemptStart, now);
  }

  lastInstance = '';
  firstInstance = '';
  /** Why the request was turned away before reaching an upstream (signals' shed reason). */
  shedReason = '';

  reply(
    code: ErrorCode,
    params: Record<string, unknown>,
    extra?: Record<string, string>,
    status?: number,
    retryAfterS?: number,
  ): void {
    if (this.res.headersSent || this.res.destroyed) return;
    if (
      retryAfterS !== undefined &&
      (extra === undefined || !('retry-after' in extra || 'Retry-After' in extra))
    ) {
      extra = { ...extra, 'retry-after': String(Math.max(0, Math.ceil(retryAfterS))) };
    }
    this.status = status ?? ERRORS[code].status;
    sendError(this.res, code, params, this.requestId, extra, status);
  }

  finish(): void {
    if (this.finished) return;
    this.finished = true;
    const g = this.g;
    const d = this.route.data;
    const now = g.clock.now();
    const latencyMs = now - this.start;
    const status = this.status || (this.res.destroyed ? 499 : 0);
    if (this.permit !== undefined) {
      this.permit.release({ ok: status > 0 && status < 500, rttMs: this.upstreamMs || latencyMs });
      this.permit = undefined;
    }
    if (this.dispatched) {
      g.signals?.onEnd({
        route: d.label,
        service: d.svc.name,
        operationId: this.route.operationId,
        instance: this.firstInstance,
        status,
        latencyMs,
        bytesIn: this.bytesIn,
        bytesOut: this.bytesOut,
      });
    } else {
      g.signals?.onShed(d.label, d.svc.name, this.shedReason || 'error');
    }
    g.accessLog?.log({
      requestId: this.requestId,
      method: this.method,
      path: this.url,
      route: d.label,
      service: d.svc.name,
      upstream: this.lastInstance,
      status,
      bytesIn: this.bytesIn,
      bytesOut: this.bytesOut,
      durationMs: latencyMs,
      queuedMs: this.queuedMs,
      upstreamMs: this.upstreamMs,
      attempts: this.attempts,
    });
    g.active--;
    if (g.active === 0 && g.idle !== undefined) {
      const idle = g.idle;
      g.idle = undefined;
      idle();
    }
  }
}

function onUpgrade(
  g: GatewayState,
  req: http.IncomingMessage,
  socket: Socket,
  head: Buffer,
  upgrades: Set<Socket>,
): void {
  proxyUpgrade(g, req, socket, head, upgrades, clientIpOf(socket));
}

export type { GatewayState, RouteData, ServiceRuntime };
