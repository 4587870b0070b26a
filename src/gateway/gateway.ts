/**
 * The gateway: a node:http server in front, undici pools behind, and between them one pipeline of
 * named stages that every request walks as one `Exchange` (src/gateway/pipeline/):
 *   route → authenticate → validate → record → admit → pick → forward
 * `record` reports to signals and the access log when the exchange ends, however it ended; `admit`
 * releases its permit then. Bodies stream both ways with backpressure and are never buffered.
 * This file holds the public types and the wiring: server, services, routes, pipeline, close.
 */
import { EventEmitter } from 'node:events';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { systemClock, type Clock } from '../core/clock.js';
import type { BalancerOptions } from './balancer.js';
import { createRouter, type RouteOptions } from './router.js';
import type { AccessLogLike, AdmissionLike, SignalsLike } from './seams.js';
import type { HealthEvent, HealthOptions, InstanceSpec, UpstreamOptions } from './upstream-pool.js';
import { proxyUpgrade } from './upgrade-proxy.js';
import { createRequestIds } from './request-ids.js';
import { createAdmission, type TrafficOptions } from './admission/admission.js';
import { compose, type Stage } from './pipeline/compose.js';
import { onClientError } from './client-error.js';
import { Exchange, clientIpOf } from './pipeline/exchange.js';
import type { GatewayState, RouteData, ServiceRuntime } from './pipeline/gateway-state.js';
import { routeStage } from './pipeline/route-stage.js';
import { authenticateStage, type KeyVerifier } from './pipeline/authenticate-stage.js';
import { validateStage, type RequestValidatorFn } from './pipeline/validate-stage.js';
import { recordStage } from './pipeline/record-stage.js';
import { admitStage } from './pipeline/admit-stage.js';
import { pickStage } from './pipeline/pick-stage.js';
import { forwardStage } from './pipeline/forward-stage.js';
import { createRouteData, createServiceRuntime, withConnectionLimit } from './pipeline/service-runtime.js';
import { internalError, type ErrorBodyFn } from './pipeline/send-error.js';
import { createTrustedProxies } from './trusted-proxies.js';
import { attachFrontOf, frontOf, toHttp1, type Http2Options, type TlsOptions } from './http2/front-of.js';
import { ignoreH2cUpgrade, isH2cUpgrade } from './http2/h2c-upgrade.js';

export { sendError, type ErrorBodyFn } from './pipeline/send-error.js';
export { templateParams } from './pipeline/template-params.js';
export type { ValidatedRequest, RequestValidatorFn } from './pipeline/validate-stage.js';
export type { GatewayState, RouteData, ServiceRuntime } from './pipeline/gateway-state.js';
export type { KeyIdentity, KeyVerifier } from './pipeline/authenticate-stage.js';

/**
 * The stages every HTTP request walks, in order. Validation comes before admission so that a
 * request refused with 400/413 spends no rate-limit token and holds no permit while its body is read.
 * Authentication comes first of all after routing: a request without a valid key is refused before
 * its body is read (a route without `auth` passes it with one property check).
 */
export const DEFAULT_STAGES: readonly Stage[] = [
  routeStage,
  authenticateStage,
  validateStage,
  recordStage,
  admitStage,
  pickStage,
  forwardStage,
];

/**
 * A service's `traffic` section: admission's TrafficOptions (rate_limit, concurrency, queue) plus
 * what the proxy itself reads. Times in ms.
 */
export type ProxyTraffic = TrafficOptions & {
  /** Upstream timeouts: connect, response (headers), idle (between body chunks). */
  timeouts?: { connect?: number; response?: number; idle?: number };
  retries?: { budget_percent?: number };
  max_body?: number;
  /**
   * Request bodies up to this many bytes are read whole before admission, so a slow upload holds
   * no concurrency slot and is not counted as demand while it arrives (default 1 MiB; 0 streams).
   */
  request_buffer?: number;
};

/**
 * A route with the per-route settings the proxy honours: timeouts, max_body and request_buffer
 * override the service's; rate_limit, concurrency and queue are the route's own admission, applied
 * before (in addition to) the service's; retries gives the route a retry budget of its own.
 */
export interface GatewayRoute extends RouteOptions {
  traffic?: ProxyTraffic;
  /** Optional request validation (off unless set); a JSON body is then read whole (up to max_body) first. */
  validate?: RequestValidatorFn;
  /** `key`: requests need an API key (GatewayOptions.keys checks it); `none` overrides the service's. */
  auth?: 'key' | 'none';
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
  /** `key`: every route needs an API key unless it says `auth: none` (default none). */
  auth?: 'key' | 'none';
  /** Error bodies in the service's own shape (an AI service answers in its client's format). */
  errorBody?: ErrorBodyFn;
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
  /**
   * Proxies (CIDRs or addresses, IPv4/IPv6) whose X-Forwarded-For / Forwarded name the client
   * (trusted-proxies.ts); their forwarding headers are appended to, everyone else's replaced.
   * Default none. (Replaces the former `trust_forwarded: true`, which is `['0.0.0.0/0', '::/0']`.)
   */
  trusted_proxies?: readonly string[];
  /** Via pseudonym (default `luascale`). */
  via?: string;
  clock?: Clock;
  /** Admission per service; default: admission/admission.ts. */
  admission?: (traffic: ProxyTraffic, clock: Clock, service: string) => AdmissionLike;
  /** Signals sink; default: signals/signals.ts. */
  signals?: SignalsLike;
  /** Access log; default: none. */
  accessLog?: AccessLogLike;
  /** The request pipeline (default DEFAULT_STAGES); a new concern is a new stage in this list. */
  stages?: readonly Stage[];
  /** Checks the API keys of routes with `auth: key`; required when any route has it. */
  keys?: KeyVerifier;
  /** HTTP/2 on the listener: h2c with prior knowledge, and ALPN h2 with `tls` (default off). */
  http2?: Http2Options;
  /** TLS on the listener (certificates by SNI, reload on change, mTLS): tls/tls-front.ts. */
  tls?: TlsOptions;
}

/** A running (or ready to run) gateway. */
export interface Gateway extends GatewayControl {
  readonly server: http.Server;
  listen(port?: number, host?: string): Promise<AddressInfo>;
  setInstances(service: string, instances: readonly InstanceSpec[]): void;
}

/** What the app drives: the in-process Gateway has it, and so does the primary of N workers (cluster-primary.ts). */
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

/** Builds a gateway from options; call `listen()` to serve. */
export function createGateway(options: GatewayOptions): Gateway {
  const clock = options.clock ?? systemClock;
  const events = new EventEmitter();
  const services = new Map<string, ServiceRuntime>();
  const router = createRouter(buildRoutes(options, { clock, events, services }));
  for (const r of router.routes) (r.data as { label: string }).label = r.template;

  const scheme = options.tls !== undefined ? 'https' : 'http'; // one listener: all TLS or none
  const state: GatewayState = {
    clock,
    router,
    services,
    forward: { trust: false, via: options.via ?? 'luascale', scheme },
    forwardTrusted: { trust: true, via: options.via ?? 'luascale', scheme },
    trusted: createTrustedProxies(options.trusted_proxies),
    signals: options.signals,
    accessLog: options.accessLog,
    ids: createRequestIds(),
    pipeline: compose(options.stages ?? DEFAULT_STAGES),
    active: 0,
    closing: false,
    idle: undefined,
    upgrades: new Set(),
  };

  const server = createServer(options, state);

  function svcOf(name: string): ServiceRuntime {
    const s = services.get(name);
    if (!s) throw new RangeError(`unknown service "${name}" (known: ${[...services.keys()].join(', ')})`);
    return s;
  }

  let closed: Promise<void> | undefined;
  const close = (opts: { graceMs?: number } = {}): Promise<void> =>
    (closed ??= closeGateway(state, { server, graceMs: opts.graceMs ?? 30_000 }));

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

/** The node:http server with the gateway's limits and its request, 100-continue, error and upgrade handlers. */
function createServer(options: GatewayOptions, state: GatewayState): http.Server {
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
      new Exchange(state, req, res, false).next();
    } catch (err) {
      internalError(res, err);
    }
  });
  // Expect: 100-continue (RFC 9110 §10.1.1): answer 100 only once the request is routed, within
  // max_body and admitted, so a rejected upload is refused before its body is sent.
  server.on('checkContinue', (req: http.IncomingMessage, res: http.ServerResponse) => {
    try {
      new Exchange(state, req, res, true).next();
    } catch (err) {
      internalError(res, err);
    }
  });
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) =>
    onClientError(err, socket, requestTimeout),
  );
  server.on('upgrade', (req: http.IncomingMessage, socket: Socket, head: Buffer) =>
    isH2cUpgrade(req) // never forwarded (h2c smuggling): served as plain HTTP/1.1
      ? ignoreH2cUpgrade(req, { socket, head }, (s) => toHttp1(server, s))
      : proxyUpgrade(state, { req, socket, head, peerIp: clientIpOf(socket.remoteAddress) }),
  );
  attachFrontOf(server, options, state.clock);
  return server;
}

/**
 * Stops accepting, lets in-flight exchanges finish up to graceMs (the record stage calls
 * `state.idle` when the last one ends), then cuts what is left and closes admission and the pools.
 */
async function closeGateway(
  state: GatewayState,
  opts: { server: http.Server; graceMs: number },
): Promise<void> {
  const { server, graceMs } = opts;
  state.closing = true;
  const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  frontOf(server)?.closeIdle();
  if (state.active > 0) {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, graceMs);
      state.idle = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
  server.closeAllConnections();
  frontOf(server)?.destroyAll();
  for (const s of state.upgrades) s.destroy();
  await stopped;
  for (const s of state.services.values()) {
    s.admission.close?.();
    for (const a of s.routeAdmissions) a.close?.();
  }
  await Promise.all([...state.services.values()].map((s) => s.pool.close()));
}

/** Builds each service's runtime and returns its routes for the router (labels are set after compiling). */
function buildRoutes(
  options: GatewayOptions,
  into: { clock: Clock; events: EventEmitter; services: Map<string, ServiceRuntime> },
): { service: string; route: RouteOptions; data: RouteData }[] {
  const { clock, events, services } = into;
  const entries: { service: string; route: RouteOptions; data: RouteData }[] = [];
  const makeAdmission =
    options.admission ?? ((traffic: ProxyTraffic, c: Clock) => createAdmission(traffic, c));
  for (const [name, configured] of Object.entries(options.services)) {
    const svc = withConnectionLimit(configured);
    const traffic = svc.traffic!;
    const admission = makeAdmission(traffic, clock, name);
    const runtime = createServiceRuntime(name, svc, { clock, admission, signals: options.signals });
    runtime.pool.events.on('health', (e: HealthEvent) => events.emit('health', e));
    services.set(name, runtime);
    admission.setReadyInstances(0);
    for (const r of svc.routes) {
      const auth = (r.auth ?? svc.auth) === 'key' ? keyVerifier(options, name) : undefined;
      entries.push({ service: name, route: r, data: createRouteData(runtime, r, { traffic, clock, auth }) });
    }
    if (svc.instances) runtime.pool.setInstances(svc.instances);
  }
  return entries;
}

/** The verifier of a route with `auth: key`; without one the gateway refuses to start (fail closed). */
function keyVerifier(options: GatewayOptions, service: string): KeyVerifier {
  if (options.keys === undefined)
    throw new RangeError(`service "${service}": auth: key needs an API key verifier (GatewayOptions.keys)`);
  return options.keys;
}
