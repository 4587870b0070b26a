/**
 * The admin API's view of the running program (AdminBackend): service summaries, status, events,
 * history, overrides and pauses, and policy reloads (with their trial evaluations).
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { type Clock } from '../core/clock.js';
import { formatDuration } from '../core/duration.js';
import { isLuascaleError, LuascaleError } from '../core/errors.js';
import { normaliseScaling, type ScalingSettings } from '../config/scaling-settings.js';
import type { Config } from '../config/schema.js';
import { type GatewayControl } from '../gateway/start-gateway.js';
import { type Signals } from '../gateway/signals/signals.js';
import { type PrometheusExporter } from '../gateway/prometheus.js';
import type { Policy } from '../policy/policy.js';
import { loadPolicy } from '../controller/load-policy.js';
import { ServiceController } from '../controller/service-controller.js';
import type { Provider } from '../controller/provider.js';
import { type Store } from '../store/index.js';
import { loadSignalsOf } from '../signals/index.js';
import { type AdminBackend, type AdminEvent, type PolicySpec } from '../admin/admin-server.js';
import { type SandboxWorker } from '../sandbox/sandbox-worker.js';
import { evaluateOnce } from '../controller/evaluate-once.js';
import { runTrial } from '../controller/trial-policy.js';

/** What the admin backend reads and acts on. */
export interface BackendDeps {
  config: Config;
  controllers: Map<string, ServiceController>;
  providers: Map<string, Provider>;
  gateway: GatewayControl;
  signals: Signals;
  store: Store;
  listeners: Set<(e: AdminEvent) => void>;
  baseDir: string;
  settings: Map<string, ScalingSettings>;
  policies: Map<string, Policy>;
  clock: Clock;
  prometheus: PrometheusExporter;
  /** The `up` log: reloads, overrides and pauses are logged as they happen. */
  log: (line: string) => void;
  /** The sandbox worker (started on first use): it runs a reloaded Lua policy's trial evaluations. */
  sandbox: () => Promise<SandboxWorker>;
  /**
   * Called after a reload passed its trial, before the loop switches: the sandbox worker loads the
   * new Lua policy as the service's live one, or (null, a built-in) drops the service's old one.
   */
  onPolicyReload: (service: string, lua: { source: string; chunkName: string } | null) => Promise<void>;
}

/** The admin API's view of the running program. */
export function adminBackend(d: BackendDeps): AdminBackend {
  const summary = (name: string) => {
    const c = d.controllers.get(name)!;
    const st = c.status();
    const spec = c.spec;
    const o = st.lastObservation;
    return {
      name,
      provider: d.providers.get(name)!.kind,
      min: spec.min,
      max: spec.max,
      policy: spec.policy.name,
      paused: st.paused,
      override: st.override,
      replicas: { desired: st.desired, ...st.replicas },
      signals: o ? loadSignalsOf(o) : null,
      lastReason: st.lastDecision?.reason ?? null,
      alerts: c.firingAlerts(),
      slo: o?.slo ?? null,
      actuationError: st.actuationError,
    };
  };
  let reloading: Promise<unknown> = Promise.resolve();
  const backend: AdminBackend = {
    services: () => [...d.controllers.keys()].map(summary),
    service: (name) => {
      const c = d.controllers.get(name);
      if (!c) return undefined;
      const st = c.status();
      const gw = new Map(d.gateway.instances(name).map((i) => [i.id, i]));
      return {
        ...summary(name),
        instances: st.instances.map((i) => ({
          ...i,
          inflight: gw.get(i.id)?.inflight ?? 0,
          health: gw.get(i.id)?.health,
        })),
        lastDecision: st.lastDecision,
        operations: st.lastObservation?.operations ?? {},
        policySource: c.spec.policy.source ?? null,
      };
    },
    scale: (name, replicas, ttlMs) => {
      const c = d.controllers.get(name)!;
      c.setOverride(replicas, ttlMs);
      const { min, max } = c.spec;
      const held = Math.min(max, Math.max(min, replicas));
      d.log(
        `${name}: override set: ${replicas} replica(s)${held !== replicas ? ` (clamped to ${held}, min ${min} max ${max})` : ''}` +
          `${ttlMs ? ` for ${formatDuration(ttlMs)}` : ' until cleared'}${c.status().paused ? '; scaling is paused, so it waits for resume' : ''}`,
      );
    },
    clearScale: (name) => {
      d.controllers.get(name)!.clearOverride();
      d.log(`${name}: override cleared; the policy decides again`);
    },
    setPaused: (name, paused) => {
      d.controllers.get(name)!.setPaused(paused);
      d.log(`${name}: scaling ${paused ? 'paused (the count is held until resume)' : 'resumed'}`);
    },
    reloadPolicy: (name, spec) => {
      // One reload at a time: two concurrent ones must not interleave their trial and install.
      const run = reloading.then(() => reloadPolicy(d, name, spec));
      reloading = run.catch(() => undefined);
      return run;
    },
    evalPolicy: async (policy, input) =>
      evaluateOnce(
        'source' in policy
          ? { source: policy.source }
          : { builtin: policy.builtin, params: policy.params ?? {} },
        input,
        { inputName: 'body/input' },
      ),
    events: async (q) => (await d.store.events.list(q)) as AdminEvent[],
    subscribe: (l) => {
      d.listeners.add(l);
      return () => d.listeners.delete(l);
    },
    metricsQuery: async (service, metric, windowS) => {
      await d.store.flush();
      const s = await d.store.history.series(service, metric, windowS, d.clock.wallNow());
      const points: Array<[number, number]> = [];
      s.avg.forEach((v, i) => {
        if (Number.isFinite(v)) points.push([(s.start + i * s.stepSeconds * 1000) / 1000, v]);
      });
      return { step: s.stepSeconds, points };
    },
    metricsText: () => d.prometheus.renderMetrics(),
    ready: () => true,
  };
  return backend;
}

let trialIds = 0;

/**
 * A hot reload (`PUT /v1/services/{name}/policy`, `luascale policy reload`): load the new policy,
 * run the trial evaluations `check` runs plus one on the service's current observation (with its
 * state and history), and only then make it the live one. Any failure — a syntax error, bad
 * built-in params, a runtime error, a bad result, an exhausted instruction budget, the wall-clock
 * limit — throws LS_ERR_ADMIN_POLICY_REJECTED naming the user's file and line, and the old policy
 * keeps running. Lua trials run in the sandbox worker, so even a hang never blocks the gateway.
 */
async function reloadPolicy(d: BackendDeps, name: string, spec: PolicySpec): Promise<{ policy: string }> {
  const c = d.controllers.get(name)!;
  const s = d.settings.get(name)!;
  const label = 'builtin' in spec ? `builtin:${spec.builtin}` : (spec.file ?? `${name}.lua`);
  const reject = (reason: string, details: Record<string, unknown> = {}): never => {
    d.log(`${name}: policy reload rejected (${label}), the old policy keeps running: ${reason}`);
    throw new LuascaleError('LS_ERR_ADMIN_POLICY_REJECTED', {
      service: name,
      policy: label,
      reason,
      ...details,
    });
  };
  let next: Policy;
  try {
    next =
      'builtin' in spec
        ? await loadPolicy({ builtin: spec.builtin, params: { ...spec.params } })
        : await loadPolicy({ source: spec.source, name: label }, s.limits);
  } catch (err) {
    if (!isLuascaleError(err)) throw err;
    return reject(err.message, { cause: err.code });
  }
  let installed = false;
  try {
    const st = c.status();
    const last = st.lastDecision?.policy.outcome;
    const options = {
      service: name,
      now: d.clock.now(),
      min: c.spec.min,
      max: c.spec.max,
      params: c.spec.params,
      current: st.lastObservation
        ? {
            observation: st.lastObservation,
            state: last?.ok ? last.state : undefined,
            history: d.store.history.historyReader(name),
          }
        : undefined,
    };
    let trial;
    if ('builtin' in spec) {
      trial = await runTrial((ctxs) => ctxs.map((ctx) => next.evaluate(ctx)), options);
    } else {
      const worker = await d.sandbox();
      const id = `${name}\u0000trial-${++trialIds}`;
      try {
        await worker.load(id, { source: spec.source, chunkName: label, limits: s.limits });
        trial = await runTrial(
          (ctxs) => worker.evaluateBatch(ctxs.map((ctx) => ({ policyId: id, ctx }))),
          options,
        );
      } finally {
        await worker.unload(id);
      }
    }
    if (!trial.ok)
      return reject(`${trial.error} (trial: ${trial.point})`, { point: trial.point, cause: trial.code });

    // The behaviour a config naming this policy would get (a built-in's hints apply only where the
    // service sets no `behavior` of its own).
    const svc = d.config.services[name]!;
    const ref = 'builtin' in spec ? { builtin: spec.builtin, params: { ...spec.params } } : label;
    const behavior = normaliseScaling(name, { ...svc.scaling, policy: ref }, d.baseDir).behavior;
    await d.onPolicyReload(name, 'builtin' in spec ? null : { source: spec.source, chunkName: label });
    c.setSpec({ ...c.spec, policy: next, behavior });
    d.policies.set(name, next);
    installed = true;
    d.log(`${name}: policy reloaded, now running ${label}`);
    return { policy: next.name };
  } finally {
    if (!installed) next.close?.();
  }
}

/** Reads a file relative to the config (used by reload from the CLI). */
export function readPolicyFile(baseDir: string, file: string): string {
  try {
    return readFileSync(resolve(baseDir, file), 'utf8');
  } catch (err) {
    if (isLuascaleError(err)) throw err;
    throw new LuascaleError('LS_ERR_POLICY_NOT_FOUND', { file });
  }
}
