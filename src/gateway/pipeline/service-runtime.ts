/**
 * Building the pipeline's per-service and per-route state from the options: a service's pool,
 * admission, retry budget and key functions; a route's limits and timeouts resolved once
 * (route override, then the route's traffic, then the service's traffic, then the defaults).
 */
import type { Clock } from '../../core/clock.js';
import { createBalancer } from '../balancer.js';
import { createRetryBudget } from '../retry-budget.js';
import type { GatewayRoute, ProxyTraffic, ServiceOptions } from '../gateway.js';
import type { AdmissionLike, SignalsLike } from '../seams.js';
import { createUpstreamPool } from '../upstream-pool.js';
import type { RouteData, ServiceRuntime } from './gateway-state.js';
import { hashKeyFn, parseHashKey } from './hash-key.js';
import { parseRateKey, rateKeyFn } from './rate-key.js';

const DEFAULT_CONNECT = 5000;
const DEFAULT_RESPONSE = 60_000;
const DEFAULT_IDLE = 300_000;
const DEFAULT_RETRY_BUDGET_PERCENT = 20;

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
  const pool = createUpstreamPool({
    service: name,
    balancer: createBalancer(svc.balancer ?? {}),
    clock: options.clock,
    health: svc.health,
    upstream: svc.upstream,
    decayMs: svc.balancer?.decay_ms,
    onReadyChange: (n) => admission.setReadyInstances(n),
    onRemoved: (id) => options.signals?.forgetInstance?.(name, id),
  });
  return {
    name,
    pool,
    admission,
    retryBudget: createRetryBudget({
      percent: traffic.retries?.budget_percent ?? DEFAULT_RETRY_BUDGET_PERCENT,
    }),
    keyOf: rateKeyFn(parseRateKey(traffic.rate_limit?.key)),
    hashKeyOf: hashKeyFn(parseHashKey(svc.balancer)),
    pickContext: { now: 0, hashKey: undefined },
  };
}

/** A route's resolved settings; `label` is filled in once the router has compiled the template. */
export function createRouteData(svc: ServiceRuntime, r: GatewayRoute, traffic: ProxyTraffic): RouteData {
  const t = r.traffic ?? {};
  return {
    svc,
    label: '',
    validate: r.validate,
    maxBody: r.max_body ?? t.max_body ?? traffic.max_body ?? Infinity,
    connectTimeout:
      r.timeouts?.connect ?? t.timeouts?.connect ?? traffic.timeouts?.connect ?? DEFAULT_CONNECT,
    responseTimeout:
      r.timeouts?.response ?? t.timeouts?.response ?? traffic.timeouts?.response ?? DEFAULT_RESPONSE,
    idleTimeout: r.timeouts?.idle ?? t.timeouts?.idle ?? traffic.timeouts?.idle ?? DEFAULT_IDLE,
    retries:
      (t.retries?.budget_percent ?? traffic.retries?.budget_percent ?? DEFAULT_RETRY_BUDGET_PERCENT) > 0,
  };
}
