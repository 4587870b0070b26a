/**
 * Maps the loaded `luascale.yaml` (and each service's imported OpenAPI document) onto the
 * gateway's options: durations become ms, routes come from config and from the document's
 * operations, and `x-luascale-*` extensions become per-route overrides.
 */
import { importServiceApi } from './import-service-api.js';
import { resolve } from 'node:path';
import { parseDuration } from '../core/duration.js';
import type { Config, ServiceConfig, TrafficConfig } from '../config/schema.js';
import type { GatewayOptions, GatewayRoute, ProxyTraffic, ServiceOptions } from '../gateway/gateway.js';
import type { WorkerBuild } from '../gateway/start-gateway.js';
import { createAccessLog, type AccessLog } from '../gateway/access-log.js';
import type { ImportedApi } from '../openapi/import-openapi.js';
import { keyVerifierFromConfig, usesKeys } from './consumer-keys.js';
import { withTlsHttp2, workerTlsHttp2Context } from './tls-http2-options.js';
import { llmErrorBody } from '../llm/front-door/index.js';
import { frontDoorFromConfig, usesLlm } from './llm-wiring.js';
import { pricesFromConfig, tokenLimiterFromConfig, workerGenAiMetrics } from './llm-budgets.js';
import type { LlmStageOptions } from '../llm/front-door/index.js';
import { compileRequestValidator, noOperationValidator } from '../openapi/request-validator.js';
import { createSchemaCache } from '../openapi/schema-cache.js';

/** Converts a config `traffic` section to the gateway's ms-based form. */
export function trafficOptions(t: TrafficConfig | undefined): ProxyTraffic | undefined {
  if (!t) return undefined;
  return {
    ...(t.rate_limit ? { rate_limit: { ...t.rate_limit } } : {}),
    ...(t.concurrency ? { concurrency: { ...t.concurrency } } : {}),
    ...(t.queue ? { queue: { max: t.queue.max, timeoutMs: parseDuration(t.queue.timeout) } } : {}),
    ...(t.timeouts
      ? {
          timeouts: {
            connect: parseDuration(t.timeouts.connect),
            response: parseDuration(t.timeouts.response),
          },
        }
      : {}),
    ...(t.retries ? { retries: { budget_percent: t.retries.budget_percent } } : {}),
    ...(t.max_body !== undefined ? { max_body: t.max_body } : {}),
    ...(t.request_buffer !== undefined ? { request_buffer: t.request_buffer } : {}),
  };
}

/** One service's gateway options. */
export function serviceOptions(svc: ServiceConfig, api?: ImportedApi): ServiceOptions {
  const routes: GatewayRoute[] = [];
  // Validators compile per operation on first use; one cache per document shares its schemas.
  const validating = Boolean(api && svc.validate_requests && api.specVersion !== 'proto');
  const cache = validating ? createSchemaCache() : undefined;
  if (api) {
    for (const op of api.operations) {
      routes.push({
        path: op.path,
        // HEAD is served wherever GET is (RFC 9110 §9.3.2); a document's own HEAD operation comes
        // first in the import, so its route wins.
        methods: op.method === 'GET' ? ['GET', 'HEAD'] : [op.method],
        operationId: op.operationId,
        ...(op.timeoutMs !== undefined ? { timeouts: { response: op.timeoutMs } } : {}),
        // x-luascale-rate-limit: the operation's own limit, kept per its key (default ip), in
        // addition to the service's traffic.rate_limit.
        ...(op.rateLimit ? { traffic: { rate_limit: { ...op.rateLimit } } } : {}),
        ...(cache ? { validate: compileRequestValidator(op, { cache }) } : {}),
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
      ...(r.auth ? { auth: r.auth } : {}),
      ...(t?.timeouts ? { timeouts: t.timeouts } : {}),
      ...(t?.max_body !== undefined ? { max_body: t.max_body } : {}),
      // rate_limit, concurrency and queue: the route's own admission, before the service's;
      // retries: a retry budget of its own; request_buffer: how much body is read before admission.
      ...(t ? { traffic: t } : {}),
      // Validating against the document: what reaches a config route matched no operation (404).
      ...(validating ? { validate: noOperationValidator() } : {}),
    });
  }
  const h = svc.health;
  // An AI service reads each body whole (up to llm.max_body) before the front door, and answers
  // errors in its client's format (src/llm/front-door/).
  const llm = svc.llm;
  const traffic = trafficOptions(svc.traffic);
  const healthPath = h?.path ?? ('process' in svc.provider ? svc.provider.process.health_path : undefined);
  return {
    routes,
    traffic:
      llm === undefined ? traffic : { ...traffic, max_body: llm.max_body, request_buffer: llm.max_body },
    ...(llm ? { errorBody: llmErrorBody } : {}),
    ...(svc.auth ? { auth: svc.auth } : {}),
    ...(svc.balancer ? { balancer: { ...svc.balancer } } : {}),
    health: {
      ...(healthPath ? { path: healthPath } : {}),
      ...(h
        ? {
            interval: parseDuration(h.interval),
            healthy_threshold: h.healthy_threshold,
            unhealthy_threshold: h.unhealthy_threshold,
            slow_start: parseDuration(h.slow_start),
            timeout: parseDuration(h.timeout),
            consecutive_errors: h.consecutive_errors,
            base_ejection: parseDuration(h.base_ejection),
            max_ejection: parseDuration(h.max_ejection),
            max_ejection_percent: h.max_ejection_percent,
            slow_start_min_weight: h.slow_start_min_weight,
          }
        : {}),
    } as ServiceOptions['health'],
    ...(svc.upstream
      ? {
          upstream: {
            ...(svc.upstream.connections !== undefined ? { connections: svc.upstream.connections } : {}),
            keep_alive: parseDuration(svc.upstream.keep_alive),
            ...(svc.upstream.client !== undefined ? { client: svc.upstream.client } : {}),
          },
        }
      : {}),
  };
}

/** The whole gateway's options (services without instances; providers add them when ready). */
export function gatewayOptions(
  config: Config,
  apis: Record<string, ImportedApi | undefined> = {},
): GatewayOptions {
  const services: GatewayOptions['services'] = {};
  for (const [name, svc] of Object.entries(config.services)) services[name] = serviceOptions(svc, apis[name]);
  return {
    services,
    max_header_bytes: config.gateway.max_header_bytes,
    request_timeout: parseDuration(config.gateway.request_timeout),
    keep_alive_timeout: parseDuration(config.gateway.keep_alive_timeout),
    trusted_proxies: config.gateway.trusted_proxies,
  };
}

/**
 * The configured access log: stdout, or a file opened for appending (every worker of a
 * `workers: N` gateway appends whole lines to the same file with O_APPEND).
 */
export function accessLogFromConfig(config: Config, baseDir: string): AccessLog {
  const g = config.gateway;
  return createAccessLog({
    mode: g.access_log,
    sampleRate: g.access_log_sample,
    destination: g.access_log_file === undefined ? 1 : resolve(baseDir, g.access_log_file),
  });
}

/** What `luascale up` sends each gateway worker: the validated config (plain JSON) and where it lives. */
export interface WorkerGatewayArg {
  config: Config;
  baseDir: string;
  /** Cluster mode: rate limits go through this Redis, under the cluster's key prefix. */
  redis?: { url: string; prefix: string };
  /** Processes sharing the listener (the Redis limiter's outage fallback divides by it). */
  workers: number;
}

/** This module's URL: the `worker.module` a `workers: N` gateway imports in each worker. */
export const WORKER_GATEWAY_MODULE = import.meta.url;

/**
 * Runs in each gateway worker (start-gateway.ts): rebuilds from the config what cannot cross IPC,
 * i.e. the imported OpenAPI documents' request validators, and the shared Redis rate limiter.
 */
export async function buildWorkerGateway(arg: WorkerGatewayArg): Promise<WorkerBuild> {
  const { config, baseDir } = arg;
  const apis: Record<string, ImportedApi | undefined> = {};
  for (const [name, svc] of Object.entries(config.services)) {
    apis[name] = await importServiceApi(name, svc, baseDir);
  }
  // the listener's TLS and HTTP/2 and the upstreams' protocols, as in one process (luascale-app.ts)
  const options = withTlsHttp2(gatewayOptions(config, apis), config, workerTlsHttp2Context(config, baseDir));
  const accessLog = accessLogFromConfig(config, baseDir);
  // AI services' GenAI histograms: the worker reports them with its own metrics (cluster-worker.ts)
  const genai = usesLlm(config) ? workerGenAiMetrics() : undefined;
  const registries = genai ? [genai.registry] : [];
  if (!arg.redis) {
    const frontDoor = frontDoorFromConfig({ config, file: baseDir }, { metrics: genai?.metrics });
    if (frontDoor) options.stages = frontDoor.stages;
    return { options, accessLog, registries, close: () => accessLog.close() };
  }
  const { Redis } = await import('ioredis');
  const { REQUEST_PATH_REDIS, serviceRateLimiter } = await import('../cluster/redis-rate-limiter.js');
  const redis = new Redis(arg.redis.url, REQUEST_PATH_REDIS);
  redis.on('error', () => {
    // the limiter decides locally while Redis is out (its own fallback); nothing to crash here
  });
  const prefix = arg.redis.prefix;
  const shared = { redis, prefix, gateways: () => arg.workers };
  // AI services in a worker: token budgets and the usage ledger through the cluster's Redis (the
  // SQLite store belongs to the primary), as in one process (luascale-app.ts)
  const frontDoor = frontDoorFromConfig(
    { config, file: baseDir },
    { ...(await workerBudgets(config, redis, shared)), metrics: genai?.metrics },
  );
  if (frontDoor) options.stages = frontDoor.stages;
  if (usesKeys(config)) {
    // API keys: the workers read the cluster's key hash in Redis (createRedisStore's default prefix).
    const { redisKeyStore, STORE_PREFIX } = await import('../cluster/redis-key-store.js');
    options.keys = keyVerifierFromConfig(config, {
      keys: redisKeyStore(redis, STORE_PREFIX),
      sharedLimiter: (name, rl) => serviceRateLimiter(shared, name, rl),
    });
  }
  return {
    options,
    rateLimiter: (service, rl) => serviceRateLimiter(shared, service, rl),
    accessLog,
    registries,
    close: async () => {
      redis.disconnect();
      await accessLog.close();
    },
  };
}

/** The front door's limiter, prices and ledger for a worker of a cluster-mode gateway. */
async function workerBudgets(
  config: Config,
  redis: import('ioredis').Redis,
  shared: { redis: import('ioredis').Redis; prefix: string; gateways: () => number },
): Promise<Omit<LlmStageOptions, 'services'>> {
  if (!usesLlm(config)) return {};
  const { redisUsageLedger } = await import('../cluster/redis-usage-ledger.js');
  const { STORE_PREFIX } = await import('../cluster/redis-key-store.js');
  return {
    limiter: tokenLimiterFromConfig(config, shared),
    prices: pricesFromConfig(config),
    ledger: redisUsageLedger(redis, STORE_PREFIX),
  };
}
