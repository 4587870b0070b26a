/**
 * Building the pipeline's per-service and per-route state from the options: a service's pool,
 * admission, retry budget and key functions; a route's limits and timeouts resolved once
 * (route override, then the route's traffic, then the service's traffic, then the defaults), and a
 * route's own admission and retry budget when its traffic sets them (in addition to the service's).
 */
import type { Clock } from '../../core/clock.js';
import { createAdmission } from '../admission/admission.js';
import { createBalancer } from '../balancer.js';
import { createRetryBudget } from '../retry-budget.js';
import type { GatewayRoute, ProxyTraffic, ServiceOptions } from '../gateway.js';
import type { AdmissionLike, SignalsLike } from '../seams.js';
import { createUpstreamPool } from '../upstream-pool.js';
import type { RouteData, ServiceRuntime } from './gateway-state.js';
import { hashKeyFn, parseHashKey } from './hash-key.js';
import { parseRateKey, rateKeyFn } from './rate-key.js';
import type { KeyVerifier } from './authenticate-stage.js';

const DEFAULT_CONNECT = 5000;
const DEFAULT_RESPONSE = 60_000;
const DEFAULT_IDLE = 300_000;
const DEFAULT_RETRY_BUDGET_PERCENT = 20;
/** Upstream connections per instance when neither `upstream.connections` nor a larger per_instance says. */
export const DEFAULT_CONNECTIONS = 64;

/**
 * Makes admission the only place a request waits. undici queues a request inside its pool when all
 * of an instance's `connections` are busy, where no queue metric, deadline or policy sees it; so
 * the admission limit per instance is at most `connections` (and `connections` follows a larger
 * `concurrency.per_instance` unless set). Requests beyond it wait in admission's queue: counted,
 * bounded, shed by deadline.
 */
export function withConnectionLimit(svc: ServiceOptions): ServiceOptions {
  const traffic = svc.traffic ?? {};
  const perInstance = traffic.concurrency?.per_instance;
  const connections = svc.upstream?.connections ?? Math.max(DEFAULT_CONNECTIONS, perInstance ?? 0);
  if (!(Number.isInteger(connections) && connections >= 1))
    throw new RangeError(`upstream.connections must be an integer >= 1, got ${connections}`);
  const capped =
    perInstance !== undefined && perInstance <= connections
      ? traffic
      : { ...traffic, concurrency: { ...traffic.concurrency, per_instance: connections } };
  return { ...svc, traffic: capped, upstream: { ...svc.upstream, connections } };
}
/**
 * Request bodies up to this size are read whole before admission (nginx buffers bodies before
 * proxying by default, `proxy_request_buffering on`), so a slow upload holds no slot while it arrives.
 */
export const DEFAULT_REQUEST_BUFFER = 1024 * 1024;

/** What a service's runtime is built with besides its options. */
export interface ServiceRuntimeOptions {
  clock: Clock;
  admission: AdmissionLike;
  signals: SignalsLike | undefined;
}

/** A service's runtime (its pool starts with the configured instances added by the caller). */
export function createServiceRuntime(
  name: string,
  svc: ServiceOptions,
  options: ServiceRuntimeOptions,
): ServiceRuntime {
  const traffic = svc.traffic ?? {};
  const admission = options.admission;
  const routeAdmissions: AdmissionLike[] = [];
  const pool = createUpstreamPool({
    service: name,
    balancer: createBalancer(svc.balancer ?? {}),
    clock: options.clock,
    health: svc.health,
    upstream: svc.upstream,
    decayMs: svc.balancer?.decay_ms,
    onReadyChange: (n) => {
      admission.setReadyInstances(n);
      for (const a of routeAdmissions) a.setReadyInstances(n);
    },
    onRemoved: (id) => options.signals?.forgetInstance?.(name, id),
  });
  return {
    name,
    pool,
    admission,
    routeAdmissions,
    retryBudget: createRetryBudget({
      percent: traffic.retries?.budget_percent ?? DEFAULT_RETRY_BUDGET_PERCENT,
    }),
    keyOf: rateKeyFn(parseRateKey(traffic.rate_limit?.key)),
    hashKeyOf: hashKeyFn(parseHashKey(svc.balancer)),
    pickContext: { now: 0, hashKey: undefined },
    errorBody: svc.errorBody,
  };
}

/** A route's resolved settings; `label` is filled in once the router has compiled the template. */
export function createRouteData(
  svc: ServiceRuntime,
  r: GatewayRoute,
  options: { traffic: ProxyTraffic; clock: Clock; auth?: KeyVerifier },
): RouteData {
  const traffic = options.traffic;
  const t = r.traffic ?? {};
  const own = routeAdmission(svc, t, options.clock);
  return {
    svc,
    label: '',
    validate: r.validate,
    auth: options.auth,
    admission: own,
    keyOf: own === undefined ? undefined : rateKeyFn(parseRateKey(t.rate_limit?.key)),
    retryBudget:
      t.retries?.budget_percent === undefined
        ? svc.retryBudget
        : createRetryBudget({ percent: t.retries.budget_percent }),
    maxBody: r.max_body ?? t.max_body ?? traffic.max_body ?? Infinity,
    requestBuffer: r.traffic?.request_buffer ?? traffic.request_buffer ?? DEFAULT_REQUEST_BUFFER,
    connectTimeout:
      r.timeouts?.connect ?? t.timeouts?.connect ?? traffic.timeouts?.connect ?? DEFAULT_CONNECT,
    responseTimeout:
      r.timeouts?.response ?? t.timeouts?.response ?? traffic.timeouts?.response ?? DEFAULT_RESPONSE,
    idleTimeout: r.timeouts?.idle ?? t.timeouts?.idle ?? traffic.timeouts?.idle ?? DEFAULT_IDLE,
    retries:
      (t.retries?.budget_percent ?? traffic.retries?.budget_percent ?? DEFAULT_RETRY_BUDGET_PERCENT) > 0,
  };
}

/**
 * A route's own admission when its traffic sets a rate limit, a concurrency limit or a queue: the
 * same admission as a service's, applied first. Without a concurrency limit of its own it never
 * queues (the service's queue does the waiting), so it sees one "ready instance" for good; with one,
 * its limit is `per_instance × ready` of the service's pool.
 */
function routeAdmission(svc: ServiceRuntime, t: ProxyTraffic, clock: Clock): AdmissionLike | undefined {
  if (t.rate_limit === undefined && t.concurrency === undefined && t.queue === undefined) return undefined;
  const a = createAdmission(t, clock);
  if (t.concurrency?.per_instance === undefined && t.concurrency?.adaptive === undefined)
    a.setReadyInstances(1);
  else {
    a.setReadyInstances(svc.pool.eligible().length);
    svc.routeAdmissions.push(a);
  }
  return a;
}
