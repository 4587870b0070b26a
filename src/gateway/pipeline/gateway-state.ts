/**
 * What the request pipeline reads per gateway, per service and per route: built once by
 * `createGateway`, shared by every exchange and by the upgrade path.
 */
import type { Socket } from 'node:net';
import type { Clock } from '../../core/clock.js';
import type { ForwardOptions } from '../forward-headers.js';
import type { RetryBudget } from '../retry-budget.js';
import type { Router } from '../router.js';
import type { TrustedProxies } from '../trusted-proxies.js';
import type { AccessLogLike, AdmissionLike, SignalsLike } from '../seams.js';
import type { UpstreamPool } from '../upstream-pool.js';
import type { PickContext } from '../balancer.js';
import type { Pipeline } from './compose.js';
import type { RateKeyFn } from './rate-key.js';
import type { HashKeyFn } from './hash-key.js';
import type { RequestValidatorFn } from './validate-stage.js';
import type { KeyVerifier } from './authenticate-stage.js';
import type { ErrorBodyFn } from './send-error.js';

/** One service as the pipeline sees it. */
export interface ServiceRuntime {
  name: string;
  pool: UpstreamPool;
  admission: AdmissionLike;
  /** The admissions of this service's routes that set limits of their own (they follow `ready`). */
  routeAdmissions: AdmissionLike[];
  retryBudget: RetryBudget;
  /** The admission key of a request (rate_limit.key), shared by HTTP and upgrade requests. */
  keyOf: RateKeyFn;
  /** The balancer's affinity key (consistent hashing), or undefined when it does not hash. */
  hashKeyOf: HashKeyFn | undefined;
  /**
   * Reused for every pick of this service: balancers read it synchronously and keep nothing,
   * so the hot path allocates no context object per attempt.
   */
  pickContext: PickContext;
  /** Error bodies in the service's own shape (an AI service: its client's API format); default the gateway's. */
  errorBody: ErrorBodyFn | undefined;
}

/** One route's settings, resolved once (route overrides, then the service's traffic, then defaults). */
export interface RouteData {
  svc: ServiceRuntime;
  /** The route's template: the bounded-cardinality label of signals and the access log. */
  label: string;
  validate: RequestValidatorFn | undefined;
  /** The API-key check of a route with `auth: key` (the authenticate stage), else undefined. */
  auth: KeyVerifier | undefined;
  /**
   * The route's own admission (routes[].traffic rate_limit / concurrency / queue, or an OpenAPI
   * x-luascale-rate-limit), passed before the service's; undefined when the route has none.
   */
  admission: AdmissionLike | undefined;
  /** The route's admission key (its own rate_limit.key), set with `admission`. */
  keyOf: RateKeyFn | undefined;
  /** The route's retry budget: its own when the route sets `retries`, else the service's. */
  retryBudget: RetryBudget;
  maxBody: number;
  /** Bodies up to this many bytes are read whole before admission (0: always stream). */
  requestBuffer: number;
  connectTimeout: number;
  responseTimeout: number;
  idleTimeout: number;
  retries: boolean;
}

/** Per-gateway state shared by all exchanges. */
export interface GatewayState {
  clock: Clock;
  router: Router<RouteData>;
  services: Map<string, ServiceRuntime>;
  /** Forwarding for untrusted peers: incoming Forwarded / X-Forwarded-* are replaced. */
  forward: ForwardOptions;
  /** Forwarding for trusted proxies: they are appended to. */
  forwardTrusted: ForwardOptions;
  /** `trusted_proxies`, or undefined when no peer is trusted. */
  trusted: TrustedProxies | undefined;
  signals: SignalsLike | undefined;
  accessLog: AccessLogLike | undefined;
  ids: () => string;
  /** The stages every HTTP request passes through. */
  pipeline: Pipeline;
  /** Exchanges in flight (from the record stage on), for a graceful close. */
  active: number;
  closing: boolean;
  /** Called once `active` drops to 0 while closing. */
  idle: (() => void) | undefined;
  /** Spliced upgrade sockets, destroyed on close. */
  upgrades: Set<Socket>;
}
