/**
 * Maps the loaded `luascale.yaml` (and each service's imported OpenAPI document) onto the
 * gateway's options: durations become ms, routes come from config and from the document's
 * operations, and `x-luascale-*` extensions become per-route overrides.
 */
import { parseDuration } from '../core/duration.js';
import type { Config, ServiceConfig, TrafficConfig } from '../config/schema.js';
import type { GatewayOptions, GatewayRoute, ProxyTraffic, ServiceOptions } from '../gateway/gateway.js';
import type { ImportedApi } from '../openapi/import-openapi.js';
import { compileRequestValidator } from '../openapi/request-validator.js';

/** Converts a config `traffic` section to the gateway's ms-based form. */
export function trafficOptions(t: TrafficConfig | undefined): ProxyTraffic | undefined {
  if (!t) return undefined;
  return {
    ...(t.rate_limit ? { rate_limit: { ...t.rate_limit } } : {}),
    ...(t.concurrency ? { concurrency: { ...t.concurrency } } : {}),
    ...(t.queue ? { queue: { max: t.queue.max, timeoutMs: parseDuration(t.queue.timeout) } } : {}),
    ...(t.timeouts
      ? { timeouts: { connect: parseDuration(t.timeouts.connect), response: parseDuration(t.timeouts.response) } }
      : {}),
    ...(t.retries ? { retries: { budget_percent: t.retries.budget_percent } } : {}),
    ...(t.max_body !== undefined ? { max_body: t.max_body } : {}),
  };
}

/** One service's gateway options. */
export function serviceOptions(svc: ServiceConfig, api?: ImportedApi): ServiceOptions {
  const routes: GatewayRoute[] = [];
  if (api) {
    for (const op of api.operations) {
      routes.push({
        path: op.path,
        methods: [op.method],
        operationId: op.operationId,
        ...(op.timeoutMs !== undefined ? { timeouts: { response: op.timeoutMs } } : {}),
        ...(svc.validate_requests ? { validate: compileRequestValidator(op) } : {}),
      });
    }
  }
  for (const r of svc.routes) {
    const t = trafficOptions(r.traffic);
    routes.push({
      ...(r.host ? { host: r.host } : {}),
      ...(r.path ? { path: r.path } : {}),
      ...(r.path_prefix ? { path_prefix: r.path_prefix } : {}),
      ...(r.methods ? { methods: [...r.methods] } : {}),
      ...(t?.timeouts ? { timeouts: t.timeouts } : {}),
      ...(t?.max_body !== undefined ? { max_body: t.max_body } : {}),
    });
  }
  const h = svc.health;
  const healthPath = h?.path ?? ('process' in svc.provider ? svc.provider.process.health_path : undefined);
  return {
    routes,
    traffic: trafficOptions(svc.traffic),
    ...(svc.balancer ? { balancer: { ...svc.balancer } } : {}),
    health: {
      ...(healthPath ? { path: healthPath } : {}),
      ...(h
        ? {
            interval: parseDuration(h.interval),
            healthy_threshold: h.healthy_threshold,
            unhealthy_threshold: h.unhealthy_threshold,
            slow_start: parseDuration(h.slow_start),
          }
        : {}),
    } as ServiceOptions['health'],
  };
}

/** The whole gateway's options (services without instances; providers add them when ready). */
export function gatewayOptions(config: Config, apis: Record<string, ImportedApi | undefined> = {}): GatewayOptions {
  const services: GatewayOptions['services'] = {};
  for (const [name, svc] of Object.entries(config.services)) services[name] = serviceOptions(svc, apis[name]);
  return {
    services,
    max_header_bytes: config.gateway.max_header_bytes,
    request_timeout: parseDuration(config.gateway.request_timeout),
  };
}
