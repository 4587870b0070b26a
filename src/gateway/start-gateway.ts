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
 *
 * Worker state machine: forked → init sent → ready (listening) → closing → exited; an exit that
 * was not asked for forks a replacement (after 1 s if the worker died before it was ready).
 */
import cluster, { type Worker } from 'node:cluster';
import { EventEmitter } from 'node:events';
import { fileURLToPath } from 'node:url';
import { AggregatorRegistry, Registry, collectDefaultMetrics } from 'prom-client';
import { systemClock } from '../core/clock.js';
import { createAdmission, type Admission, type AdmissionStats } from './admission/admission.js';
import type { RateLimiter } from './admission/rate-limiter.js';
import {
  createGateway,
  type Gateway,
  type GatewayControl,
  type GatewayOptions,
  type InstanceView,
  type ProxyTraffic,
} from './gateway.js';
import { createPrometheus } from './prometheus.js';
import type { AccessLogLike } from './seams.js';
import { createSignals, type Signals } from './signals/signals.js';
import type { InstanceSpec } from './upstream-pool.js';
import {
  createWorkerSignals,
  startWorkerSignalsReporter,
  type WorkerSignals,
  type WorkerSignalsReport,
} from './worker-signals.js';

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

/** A metric as prom-client's getMetricsAsJSON() gives it (what AggregatorRegistry.aggregate takes). */
interface MetricJson {
  name: string;
  help: string;
  type: string;
  aggregator: string;
  values: Array<{ value: number; labels: Record<string, string | number | undefined>; metricName?: string }>;
}

type ToWorker =
  | { t: 'init'; init: WorkerInit }
  | { t: 'set'; seq: number; service: string; instances: InstanceSpec[] }
  | { t: 'add'; service: string; instance: InstanceSpec }
  | { t: 'remove'; service: string; id: string }
  | { t: 'drain'; seq: number; service: string; id: string; timeoutMs: number }
  | { t: 'atMax'; service: string; atMax: boolean }
  | { t: 'metrics'; seq: number }
  | { t: 'close'; graceMs: number };
type FromWorker =
  | { t: 'hello' }
  | { t: 'ready'; port: number }
  | { t: 'ack'; seq: number }
  | { t: 'drained'; seq: number; drained: boolean; inflight: number }
  | { t: 'health'; e: unknown }
  | { t: 'metrics'; seq: number; json: MetricJson[] }
  | {
      t: 'report';
      sig?: WorkerSignalsReport;
      inst: Record<string, InstanceView[]>;
      adm: Record<string, AdmissionStats | undefined>;
    };

interface WorkerInit {
  options: Omit<StartGatewayOptions, 'clock' | 'admission' | 'signals' | 'accessLog'>;
  workers: number;
  instances: Record<string, InstanceSpec[]>;
  draining: Record<string, string[]>;
  atMax: Record<string, boolean>;
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

/** Health from best to worst: the primary reports an instance's worst health over its workers. */
const HEALTH_ORDER = ['healthy', 'probing', 'suspect', 'ejected'];

async function startCluster(options: StartGatewayOptions, n: number): Promise<GatewayHandle> {
  const here = fileURLToPath(import.meta.url);
  const exec = here.replace(/start-gateway\.(ts|js)$/, 'gateway-worker.$1');
  const clock = options.clock ?? systemClock;
  // Only plain data crosses to workers; collaborators (clock, admission factory, sinks) stay default there.
  const { clock: _c, admission: _a, signals: _s, accessLog: _l, ...plain } = options;
  const current = new Map<string, InstanceSpec[]>();
  for (const [k, s] of Object.entries(options.services)) current.set(k, [...(s.instances ?? [])]);
  const draining = new Map<string, Set<string>>();
  const atMax = new Map<string, boolean>();
  const events = new EventEmitter();
  const signals: WorkerSignals | undefined =
    options.metrics === false ? undefined : createWorkerSignals(clock);
  const live = new Map<number, Worker>();
  const ready = new Set<number>();
  const reports = new Map<
    number,
    { inst: Record<string, InstanceView[]>; adm: Record<string, AdmissionStats | undefined> }
  >();
  let closing = false;
  let seq = 0;
  // Every pending broadcast waits on a set of worker ids; a worker that exits leaves every set.
  interface Pending {
    waiting: Set<number>;
    drained: boolean;
    inflight: number;
    json: MetricJson[][];
    done: () => void;
  }
  const pending = new Map<number, Pending>();
  function settle(s: number, id: number): void {
    const p = pending.get(s);
    if (p === undefined || !p.waiting.delete(id) || p.waiting.size > 0) return;
    pending.delete(s);
    p.done();
  }

  function init(): WorkerInit {
    return {
      options: plain,
      workers: n,
      instances: Object.fromEntries(current),
      draining: Object.fromEntries([...draining].map(([k, v]) => [k, [...v]])),
      atMax: Object.fromEntries(atMax),
    };
  }

  function fork(): Promise<number> {
    cluster.setupPrimary({ exec, execArgv: process.execArgv, silent: false });
    const w = cluster.fork();
    live.set(w.id, w);
    let listening = false;
    w.on('message', (m: FromWorker) => {
      // the worker asks once its listener is on: messages sent before that would be lost
      if (m.t === 'hello') w.send({ t: 'init', init: init() } satisfies ToWorker);
      else if (m.t === 'report') {
        reports.set(w.id, { inst: m.inst, adm: m.adm });
        if (m.sig) signals?.ingest(w.id, m.sig);
      } else if (m.t === 'drained') {
        const p = pending.get(m.seq);
        if (p) {
          p.drained &&= m.drained;
          p.inflight += m.inflight;
        }
        settle(m.seq, w.id);
      } else if (m.t === 'ack') settle(m.seq, w.id);
      else if (m.t === 'metrics') {
        pending.get(m.seq)?.json.push(m.json);
        settle(m.seq, w.id);
      } else if (m.t === 'health') events.emit('health', m.e);
      else if (m.t === 'ready') {
        listening = true;
        ready.add(w.id);
      }
    });
    w.once('exit', (code, signal) => {
      live.delete(w.id);
      ready.delete(w.id);
      reports.delete(w.id);
      signals?.forgetWorker(w.id);
      for (const s of [...pending.keys()]) settle(s, w.id);
      if (closing) return;
      events.emit('worker-exit', { pid: w.process.pid, code, signal });
      // A crashed worker is replaced with the current membership; one that died before listening
      // waits a second so a broken build does not fork in a tight loop.
      const again = (): void =>
        void fork().catch(() => {
          /* its own exit handler forks the next one */
        });
      if (listening) again();
      else setTimeout(() => !closing && again(), 1000).unref();
    });
    return new Promise((resolve, reject) => {
      w.once('exit', (code) => reject(new Error(`gateway worker exited with ${code} before listening`)));
      w.on('message', (m: FromWorker) => {
        if (m.t === 'ready') resolve(m.port);
      });
    });
  }

  let ports: number[];
  try {
    ports = await Promise.all(Array.from({ length: n }, () => fork()));
  } catch (err) {
    closing = true;
    for (const w of live.values()) w.process.kill('SIGKILL');
    throw err;
  }
  const port = ports[0]!;

  function broadcast(msg: ToWorker): void {
    for (const w of live.values()) if (w.isConnected()) w.send(msg);
  }

  /** Sends `make(seq)` to every connected worker; resolves when each answered or exited. */
  function ask(make: (s: number) => ToWorker, init: Partial<Pending> = {}): Promise<Pending> {
    const s = ++seq;
    const targets = [...live.values()].filter((w) => w.isConnected());
    return new Promise((resolve) => {
      const p: Pending = {
        waiting: new Set(targets.map((w) => w.id)),
        drained: true,
        inflight: 0,
        json: [],
        done: () => resolve(p),
        ...init,
      };
      if (p.waiting.size === 0) return resolve(p);
      pending.set(s, p);
      for (const w of targets) w.send(make(s));
    });
  }

  function checkService(service: string): void {
    if (!current.has(service)) throw new RangeError(`unknown service "${service}"`);
  }
  function checkUrl(i: InstanceSpec): void {
    // Validate here: a bad URL must throw to the caller, not crash every worker.
    if (new URL(i.url).protocol !== 'http:')
      throw new RangeError(`instance ${i.id}: only http:// upstreams are supported, got ${i.url}`);
  }

  function instances(service: string): InstanceView[] {
    checkService(service);
    const merged = new Map<string, InstanceView>();
    for (const r of reports.values()) {
      for (const v of r.inst[service] ?? []) {
        const m = merged.get(v.id);
        if (m === undefined) {
          merged.set(v.id, { ...v });
          continue;
        }
        m.inflight += v.inflight;
        m.ewmaMs = Math.max(m.ewmaMs, v.ewmaMs);
        m.weight = Math.min(m.weight, v.weight);
        if (HEALTH_ORDER.indexOf(v.health) > HEALTH_ORDER.indexOf(m.health)) m.health = v.health;
      }
    }
    // The membership is the primary's (what it told every worker), not a worker's last report.
    return current.get(service)!.map((spec) => {
      const m = merged.get(spec.id);
      const state = draining.get(service)?.has(spec.id) ? 'draining' : (m?.state ?? 'ready');
      return {
        id: spec.id,
        url: spec.url,
        state: state === 'removed' ? 'ready' : state,
        health: m?.health ?? 'healthy',
        inflight: m?.inflight ?? 0,
        ewmaMs: m?.ewmaMs ?? 0,
        weight: m?.weight ?? 1,
      };
    });
  }

  async function renderMetrics(): Promise<string> {
    const p = await Promise.race([
      ask((s) => ({ t: 'metrics', seq: s })),
      new Promise<undefined>((r) => void setTimeout(() => r(undefined), 2000).unref()),
    ]);
    const own = (await primaryRegistry.getMetricsAsJSON()) as unknown as MetricJson[];
    const parts = mergeQuantiles([own, ...(p?.json ?? [])]);
    return AggregatorRegistry.aggregate(parts).metrics();
  }
  // The primary's own process metrics (the controller's CPU and memory) add to the workers'.
  const primaryRegistry = new Registry();
  collectDefaultMetrics({ register: primaryRegistry });

  return {
    port,
    gateway: undefined,
    events,
    signals,
    pids: () => [...live.values()].map((w) => w.process.pid!).filter(Boolean),
    setInstances(service, list) {
      checkService(service);
      list.forEach(checkUrl);
      current.set(service, [...list]);
      const keep = new Set(list.map((i) => i.id));
      for (const id of draining.get(service) ?? []) if (!keep.has(id)) draining.get(service)!.delete(id);
      return ask((s) => ({ t: 'set', seq: s, service, instances: [...list] })).then(() => {});
    },
    addInstance(service, instance) {
      checkService(service);
      checkUrl(instance);
      const list = current.get(service)!.filter((i) => i.id !== instance.id);
      list.push({ ...instance });
      current.set(service, list);
      draining.get(service)?.delete(instance.id);
      broadcast({ t: 'add', service, instance: { ...instance } });
    },
    removeInstance(service, id) {
      checkService(service);
      const list = current.get(service)!;
      const next = list.filter((i) => i.id !== id);
      if (next.length === list.length) return false;
      current.set(service, next);
      draining.get(service)?.delete(id);
      broadcast({ t: 'remove', service, id });
      return true;
    },
    async drain(service, id, o = {}) {
      checkService(service);
      let d = draining.get(service);
      if (d === undefined) draining.set(service, (d = new Set()));
      d.add(id);
      const timeoutMs = o.timeoutMs ?? 30_000;
      const p = await ask((s) => ({ t: 'drain', seq: s, service, id, timeoutMs }));
      return { drained: p.drained, inflight: p.inflight };
    },
    instances,
    admissionStats(service) {
      checkService(service);
      const out = { queue: 0, inflight: 0, limit: 0 };
      for (const r of reports.values()) {
        const a = r.adm[service];
        if (a === undefined) continue;
        out.queue += a.queue;
        out.inflight += a.inflight;
        out.limit += a.limit;
      }
      return out;
    },
    setAtMaxReplicas(service, value) {
      if (atMax.get(service) === value) return;
      atMax.set(service, value);
      broadcast({ t: 'atMax', service, atMax: value });
    },
    renderMetrics,
    async close(o = {}) {
      closing = true;
      const exits = [...live.values()].map((w) => new Promise<void>((r) => w.once('exit', () => r())));
      broadcast({ t: 'close', graceMs: o.graceMs ?? 30_000 });
      await Promise.all(exits);
      signals?.close();
    },
  };
}

/**
 * Prometheus aggregation fixes for figures that do not add up across processes (prom-client sums
 * by default): quantiles and the event-loop lag take the worst process, the adaptive controller's
 * ratios the mean. Counters, histograms, gauges of counts and limits add up.
 */
function mergeQuantiles(parts: MetricJson[][]): MetricJson[][] {
  const worst = new Set(['luascale_event_loop_lag_seconds']);
  const mean = new Set([
    'luascale_adaptive_min_rtt_seconds',
    'luascale_adaptive_sample_rtt_seconds',
    'luascale_adaptive_gradient',
  ]);
  const summaries = new Map<string, MetricJson>();
  const out: MetricJson[][] = [];
  for (const list of parts) {
    const kept: MetricJson[] = [];
    for (const m of list) {
      if (worst.has(m.name)) kept.push({ ...m, aggregator: 'max' });
      else if (mean.has(m.name)) kept.push({ ...m, aggregator: 'average' });
      else if (m.name === 'luascale_queue_wait_seconds') {
        // quantile samples: the worst worker's; _sum and _count: the total
        const acc = summaries.get(m.name);
        if (acc === undefined) {
          const copy = { ...m, values: m.values.map((v) => ({ ...v })) };
          summaries.set(m.name, copy);
          kept.push(copy);
          continue;
        }
        for (const v of m.values) {
          const key = `${v.metricName ?? ''}${JSON.stringify(v.labels)}`;
          const a = acc.values.find((x) => `${x.metricName ?? ''}${JSON.stringify(x.labels)}` === key);
          if (a === undefined) acc.values.push({ ...v });
          else if ('quantile' in v.labels) a.value = Math.max(a.value, v.value);
          else a.value += v.value;
        }
      } else kept.push(m);
    }
    out.push(kept);
  }
  return out;
}

/** Runs inside a cluster worker: waits for its init from the primary, builds the gateway, obeys. */
export async function runGatewayWorker(): Promise<void> {
  const init = await new Promise<WorkerInit>((resolve) => {
    const first = (m: ToWorker): void => {
      if (m.t !== 'init') return;
      process.off('message', first);
      resolve(m.init);
    };
    process.on('message', first);
    process.send?.({ t: 'hello' } satisfies FromWorker);
  });
  const clock = systemClock;
  const { options: plain, workers: n } = init;
  let build: WorkerBuild = { options: plain };
  if (plain.worker) {
    const m = (await import(plain.worker.module)) as {
      buildWorkerGateway(arg: unknown): Promise<WorkerBuild>;
    };
    build = await m.buildWorkerGateway(plain.worker.arg);
  }
  const shared = build.rateLimiter !== undefined;
  const services = Object.fromEntries(
    Object.entries(build.options.services).map(([k, s]) => [
      k,
      {
        ...s,
        traffic: divideTraffic(s.traffic, n, { rateLimit: !shared }),
        instances: init.instances[k] ?? s.instances,
      },
    ]),
  );
  const signals = plain.metrics === false ? undefined : createSignals(clock);
  const admissions = new Map<string, Admission>();
  const gw = createGateway({
    ...build.options,
    services,
    clock,
    signals,
    accessLog: build.accessLog,
    admission: (traffic, c, service) => {
      const rl = (traffic as { rate_limit?: { rps: number; burst?: number } }).rate_limit;
      const a = createAdmission(traffic as Parameters<typeof createAdmission>[0], c, {
        limiter: rl ? build.rateLimiter?.(service, rl) : undefined,
        onQueue: signals ? (depth, waitMs) => signals.onQueue(service, depth, waitMs) : undefined,
      });
      a.setAtMaxReplicas(init.atMax[service] ?? false);
      admissions.set(service, a);
      return a;
    },
  });
  for (const [service, ids] of Object.entries(init.draining))
    for (const id of ids) void gw.drain(service, id, { timeoutMs: 30_000 });
  // Every worker asks for the configured port; with port 0 node's cluster gives them all the same
  // ephemeral port (the primary keys the shared handle by the requested address and port).
  const addr = await gw.listen(plain.listen.port, plain.listen.host ?? '127.0.0.1');
  const names = Object.keys(services);
  const send = (m: FromWorker): void => {
    if (process.connected) process.send?.(m);
  };
  const report = (sig?: WorkerSignalsReport): void =>
    send({
      t: 'report',
      sig,
      inst: Object.fromEntries(names.map((s) => [s, gw.instances(s)])),
      adm: Object.fromEntries(names.map((s) => [s, admissions.get(s)?.stats()])),
    });
  const reporter = signals
    ? startWorkerSignalsReporter({ signals, clock, services: () => names, send: report })
    : undefined;
  const plainTimer = signals ? undefined : setInterval(() => report(), 1000);
  plainTimer?.unref();
  let prometheus: ReturnType<typeof createPrometheus> | undefined;
  gw.events.on('health', (e) => send({ t: 'health', e }));
  let closing = false;
  const close = (graceMs: number): void => {
    if (closing) return;
    closing = true;
    reporter?.close();
    if (plainTimer) clearInterval(plainTimer);
    void gw
      .close({ graceMs })
      .then(() => build.close?.())
      .finally(() => process.exit(0));
  };
  process.on('message', (m: ToWorker) => {
    if (m.t === 'set') {
      gw.setInstances(m.service, m.instances);
      send({ t: 'ack', seq: m.seq });
    } else if (m.t === 'add') gw.addInstance(m.service, m.instance);
    else if (m.t === 'remove') gw.removeInstance(m.service, m.id);
    else if (m.t === 'atMax') admissions.get(m.service)?.setAtMaxReplicas(m.atMax);
    else if (m.t === 'drain') {
      void gw
        .drain(m.service, m.id, { timeoutMs: m.timeoutMs })
        .then((r) => send({ t: 'drained', seq: m.seq, ...r }));
    } else if (m.t === 'metrics') {
      prometheus ??= createPrometheus({
        signals: signals ?? createSignals(clock),
        clock,
        admission: (s) => admissions.get(s)?.stats(),
        services: () => names,
      });
      void prometheus.registry
        .getMetricsAsJSON()
        .then((json) => send({ t: 'metrics', seq: m.seq, json: json as unknown as MetricJson[] }));
    } else if (m.t === 'close') close(m.graceMs);
  });
  // The primary going away (killed) must not leave this worker serving on its own.
  process.once('disconnect', () => close(1000));
  process.once('SIGTERM', () => close(30_000));
  process.once('SIGINT', () => {
    // Ctrl-C reaches the whole process group: the primary decides when workers close.
  });
  send({ t: 'ready', port: addr.port });
}

/** Installs SIGTERM/SIGINT handling: stop accepting, finish in-flight up to graceMs, exit 0. */
export function exitOnSignals(handle: GatewayHandle, graceMs: number): void {
  const stop = (): void => void handle.close({ graceMs }).then(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}
