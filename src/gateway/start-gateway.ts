/**
 * Starting the gateway in one process or as `workers: N` node:cluster processes sharing the
 * listener (the primary accepts and hands connections round-robin; keep-alive makes that cost
 * per connection, not per request). Every worker runs the whole pipeline on its own, so the hot
 * state is per worker: instances' health and balancer load, admission, signals. Limits are
 * DIVIDED by N so the cluster as a whole enforces the configured numbers: rate_limit rps and
 * burst, concurrency per_instance and queue max are each ceil(value / N) per worker (rate limits
 * are not divided when a worker build shares them, e.g. through Redis).
 *
 * The primary answers for the cluster (the {@link GatewayControl} the app wires to): membership
 * changes, drains and `setAtMaxReplicas` are broadcast to every worker over IPC (a drain is done
 * when every worker is done); each worker reports, once per second, its complete seconds of
 * signals, its instances and its admission figures, and the primary merges them
 * (worker-signals.ts); `/metrics` asks every worker for its registry on scrape and aggregates.
 * A crashed worker is replaced with the current membership; the primary keeps running.
 * The primary is cluster-primary.ts, a worker cluster-worker.ts, their messages cluster-protocol.ts.
 */
import type { EventEmitter } from 'node:events';
import type { Registry } from 'prom-client';
import { systemClock } from '../core/clock.js';
import type { RateLimiter } from './admission/rate-limiter.js';
import { startCluster } from './cluster-primary.js';
import {
  createGateway,
  type Gateway,
  type GatewayControl,
  type GatewayOptions,
  type ProxyTraffic,
} from './gateway.js';
import type { AccessLogLike } from './seams.js';
import { createSignals, type Signals } from './signals/signals.js';
import type { InstanceSpec } from './upstream-pool.js';

/** Options for {@link startGateway}: gateway options plus where to listen and how many processes. */
export interface StartGatewayOptions extends GatewayOptions {
  listen: { port: number; host?: string };
  /** Processes sharing the listener (default 1 = this process). */
  workers?: number;
  /** Record signals (per process) when no `signals` sink is given; default true. */
  metrics?: boolean;
  /**
   * With workers: a module each worker imports to build what cannot cross IPC (validators,
   * access log, a shared rate limiter). It exports `buildWorkerGateway(arg)` → {@link WorkerBuild};
   * its `options` replace the plain ones. `arg` must be JSON.
   */
  worker?: { module: string; arg: unknown };
}

/** What a worker build module returns (see {@link StartGatewayOptions.worker}). */
export interface WorkerBuild {
  options: GatewayOptions;
  accessLog?: AccessLogLike;
  /** A rate limiter shared by every worker (e.g. Redis): rate limits are then not divided. */
  rateLimiter?: (service: string, rl: { rps: number; burst?: number }) => RateLimiter;
  /** Released when the worker closes. */
  close?: () => Promise<void>;
  /** More metrics of the worker (e.g. the AI services' GenAI histograms), sent with its own on a scrape. */
  registries?: Registry[];
}

/** What the app drives (defined next to the Gateway, which has it). */
export type { GatewayControl } from './gateway.js';

/** The control surface common to one process and a cluster. */
export interface GatewayHandle extends GatewayControl {
  readonly port: number;
  /** The in-process gateway (undefined with workers > 1). */
  readonly gateway: Gateway | undefined;
  readonly events: EventEmitter;
  /** Signals of this process, or the workers' merged in the primary (undefined with metrics off). */
  readonly signals: Signals | undefined;
  /** Pids of the processes serving requests (this one, or the cluster workers). */
  pids(): number[];
  /** Replaces a service's instances; resolves once every process applied the change. */
  setInstances(service: string, instances: readonly InstanceSpec[]): Promise<void>;
  /** Tells every process's admission whether the service is at max replicas (shed when saturated). */
  setAtMaxReplicas(service: string, atMax: boolean): void;
  /** With workers: Prometheus text aggregated over every worker (and this process's own metrics). */
  renderMetrics?(): Promise<string>;
  close(options?: { graceMs?: number }): Promise<void>;
}

/** Starts the gateway (forking workers when `workers` > 1) and resolves once it listens. */
export async function startGateway(options: StartGatewayOptions): Promise<GatewayHandle> {
  const workers = options.workers ?? 1;
  if (workers <= 1) {
    const own =
      options.signals === undefined && options.metrics !== false
        ? createSignals(options.clock ?? systemClock)
        : undefined;
    const gw = createGateway({ ...options, signals: options.signals ?? own });
    const addr = await gw.listen(options.listen.port, options.listen.host ?? '127.0.0.1');
    return {
      port: addr.port,
      gateway: gw,
      events: gw.events,
      signals: (options.signals as Signals | undefined) ?? own,
      pids: () => [process.pid],
      setInstances: async (service, list) => gw.setInstances(service, list),
      addInstance: gw.addInstance,
      removeInstance: gw.removeInstance,
      drain: gw.drain,
      instances: gw.instances,
      admissionStats: gw.admissionStats,
      setAtMaxReplicas() {
        // the one-process caller owns its admissions (options.admission) and sets this there
      },
      async close(o) {
        await gw.close(o);
        own?.close();
      },
    };
  }
  return startCluster(options, workers);
}

/** Per-worker share of the configured limits (see module comment). */
export function divideTraffic(
  t: ProxyTraffic | undefined,
  n: number,
  options: { rateLimit?: boolean } = {},
): ProxyTraffic | undefined {
  if (t === undefined || n <= 1) return t;
  const out: ProxyTraffic = { ...t };
  const rl = t.rate_limit as { rps?: number; burst?: number } | undefined;
  if (rl && options.rateLimit !== false)
    out.rate_limit = {
      ...rl,
      rps: rl.rps !== undefined ? rl.rps / n : undefined,
      burst: rl.burst !== undefined ? Math.ceil(rl.burst / n) : undefined,
    } as ProxyTraffic['rate_limit'];
  const c = t.concurrency as { per_instance?: number } | undefined;
  if (c?.per_instance !== undefined) out.concurrency = { ...c, per_instance: Math.ceil(c.per_instance / n) };
  const q = t.queue as { max?: number } | undefined;
  if (q?.max !== undefined) out.queue = { ...q, max: Math.ceil(q.max / n) };
  return out;
}

/** Installs SIGTERM/SIGINT handling: stop accepting, finish in-flight up to graceMs, exit 0. */
export function exitOnSignals(handle: GatewayHandle, graceMs: number): void {
  const stop = (): void => void handle.close({ graceMs }).then(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}
