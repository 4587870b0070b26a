/**
 * What each service's controller is built from, read from the config: OpenAPI documents, metric
 * sources, scaling settings and policies, the spec, alert rules, and what the history keeps.
 */
import { importServiceApi } from './import-service-api.js';
import { parseDuration } from '../core/duration.js';
import type { LoadedConfig } from '../config/load-config.js';
import { scalingFromConfig, type ScalingSettings } from '../config/scaling-settings.js';
import type { ServiceConfig } from '../config/schema.js';
import type { ImportedApi } from '../openapi/import-openapi.js';
import type { Observation, Policy } from '../policy/policy.js';
import { loadPolicy } from '../controller/load-policy.js';
import type { ScalingSpec } from '../controller/decision.js';
import type { AlertRule } from '../controller/alert-engine.js';
import type { MetricSource } from '../controller/metric-source.js';
import type { Store } from '../store/index.js';
import { flatSignals, HISTORY_SIGNALS, loadSignalsOf } from '../signals/index.js';
import { createMetricSources } from './metric-sources-from-config.js';

/** What `loadServices` prepared for every service. */
export interface LoadedServices {
  apis: Record<string, ImportedApi | undefined>;
  sources: Map<string, MetricSource[]>;
  settings: Map<string, ScalingSettings>;
  policies: Map<string, Policy>;
}

/**
 * The first step of `up`: imports every OpenAPI document, builds the metric sources and loads the
 * policies, so a broken document, source URL or policy stops the start before anything runs.
 */
export async function loadServices(loaded: LoadedConfig): Promise<LoadedServices> {
  const { config, baseDir } = loaded;
  // Import every OpenAPI document first: a broken one stops the start before anything runs.
  const apis: Record<string, ImportedApi | undefined> = {};
  for (const [name, svc] of Object.entries(config.services)) {
    apis[name] = await importServiceApi(name, svc, baseDir);
  }
  // Metric sources are checked here too, so a bad URL or JSON path stops the start early.
  const sources = new Map(
    Object.entries(config.services).map(([name, svc]) => [
      name,
      createMetricSources(name, svc.metrics ?? []),
    ]),
  );
  const settings = new Map<string, ScalingSettings>();
  const policies = new Map<string, Policy>();
  for (const name of Object.keys(config.services)) {
    const s = scalingFromConfig(config, name, baseDir);
    settings.set(name, s);
    policies.set(name, await loadPolicy(s.policy, s.limits));
  }
  return { apis, sources, settings, policies };
}

/**
 * Every imported operation, with its SLO (operation, path or document level, from the OpenAPI
 * import), and its measured signals once it has seen traffic: this is ctx.operations.
 */
/** The measured per-operation signals, with each OpenAPI operation (and its SLO) filled in. */
export function withSlos(
  measured: Record<string, Record<string, unknown>> | undefined,
  api: ImportedApi | undefined,
) {
  if (!api) return measured;
  const out: Record<string, Record<string, unknown>> = { ...measured };
  for (const op of api.operations) {
    const m = out[op.operationId] ?? loadSignalsOf({});
    out[op.operationId] = { ...m, method: op.method, path: op.path, ...(op.slo ? { slo: op.slo } : {}) };
  }
  return out;
}

/** The metrics kept in history each tick: the catalogue's history signals and the custom metrics. */
export function recordObservation(store: Store, service: string, o: Observation, at: number): void {
  const h = store.history;
  const put = (metric: string, v: number) => Number.isFinite(v) && h.record(service, metric, at, v);
  const values = flatSignals(o);
  for (const name of HISTORY_SIGNALS) put(name, values[name]);
  for (const [k, v] of Object.entries(o.metrics ?? {})) put(k, v);
}

/** The controller's ScalingSpec from a service's resolved settings and its loaded policy. */
export function specFrom(s: ScalingSettings, policy: Policy): ScalingSpec {
  return {
    service: s.service,
    min: s.min,
    max: s.max,
    intervalMs: s.intervalMs,
    behavior: s.behavior,
    policy,
    params: s.params,
  };
}

/** A service's `alerts:` as the alert engine's rules (unnamed ones get a stable name). */
export function alertRules(svc: ServiceConfig): AlertRule[] {
  return (svc.alerts ?? []).map((a, i) => ({
    name: a.name ?? `Rule${i + 1}_${a.metric.replace(/\W+/g, '_')}`,
    metric: a.metric,
    op: a.op as AlertRule['op'],
    threshold: a.threshold,
    forMs: parseDuration(a.for),
    severity: a.severity,
  }));
}
