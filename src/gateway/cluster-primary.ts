/**
 * The primary of a `workers: N` gateway: it forks the workers, answers for the cluster (the
 * {@link GatewayHandle} the app wires to), broadcasts membership changes, drains and
 * `setAtMaxReplicas` to every worker over IPC (a drain is done when every worker is done), merges
 * the workers' once-a-second reports (signals, instances, admission) and, on scrape, their
 * Prometheus registries. A crashed worker is replaced with the current membership.
 *
 * Worker state machine: forked → init sent → ready (listening) → closing → exited; an exit that
 * was not asked for forks a replacement (after 1 s if the worker died before it was ready).
 */
import cluster, { type Worker } from 'node:cluster';
import { EventEmitter } from 'node:events';
import { fileURLToPath } from 'node:url';
import { AggregatorRegistry, Registry, collectDefaultMetrics } from 'prom-client';
import { systemClock } from '../core/clock.js';
import type { AdmissionStats } from './admission/admission.js';
import type { FromWorker, MetricJson, ToWorker, WorkerInit } from './cluster-protocol.js';
import type { InstanceView } from './gateway.js';
import { mergeWorkerMetrics } from './merge-worker-metrics.js';
import type { GatewayHandle, StartGatewayOptions } from './start-gateway.js';
import type { InstanceSpec } from './upstream-pool.js';
import { createWorkerSignals, type WorkerSignals } from './worker-signals.js';

/** Health from best to worst: the primary reports an instance's worst health over its workers. */
const HEALTH_ORDER = ['healthy', 'probing', 'suspect', 'ejected'];

/** A broadcast waiting on a set of worker ids; a worker that exits leaves every set. */
interface Pending {
  waiting: Set<number>;
  drained: boolean;
  inflight: number;
  json: MetricJson[][];
  done: () => void;
}

/** A worker's last report. */
interface WorkerReport {
  inst: Record<string, InstanceView[]>;
  adm: Record<string, AdmissionStats | undefined>;
}

/** Forks `n` workers and resolves once all listen. */
export async function startCluster(options: StartGatewayOptions, n: number): Promise<GatewayHandle> {
  const primary = new ClusterPrimary(options, n);
  await primary.start();
  return primary.handle();
}

class ClusterPrimary {
  readonly events = new EventEmitter();
  readonly signals: WorkerSignals | undefined;
  port = 0;
  readonly #n: number;
  readonly #exec: string;
  readonly #plain: WorkerInit['options'];
  readonly #current = new Map<string, InstanceSpec[]>();
  readonly #draining = new Map<string, Set<string>>();
  readonly #atMax = new Map<string, boolean>();
  readonly #live = new Map<number, Worker>();
  readonly #reports = new Map<number, WorkerReport>();
  readonly #pending = new Map<number, Pending>();
  // The primary's own process metrics (the controller's CPU and memory) add to the workers'.
  readonly #registry = new Registry();
  #closing = false;
  #seq = 0;

  constructor(options: StartGatewayOptions, n: number) {
    this.#n = n;
    this.#exec = fileURLToPath(import.meta.url).replace(/cluster-primary\.(ts|js)$/, 'gateway-worker.$1');
    // Only plain data crosses to workers; collaborators (clock, admission factory, sinks) stay default there.
    const { clock: _c, admission: _a, signals: _s, accessLog: _l, ...plain } = options;
    this.#plain = plain;
    for (const [k, s] of Object.entries(options.services)) this.#current.set(k, [...(s.instances ?? [])]);
    this.signals = options.metrics === false ? undefined : createWorkerSignals(options.clock ?? systemClock);
    collectDefaultMetrics({ register: this.#registry });
  }

  async start(): Promise<void> {
    try {
      const ports = await Promise.all(Array.from({ length: this.#n }, () => this.#fork()));
      this.port = ports[0]!;
    } catch (err) {
      this.#closing = true;
      for (const w of this.#live.values()) w.process.kill('SIGKILL');
      throw err;
    }
  }

  /** The control surface, as plain functions (callers may pass them around unbound). */
  handle(): GatewayHandle {
    return {
      port: this.port,
      gateway: undefined,
      events: this.events,
      signals: this.signals,
      pids: () => [...this.#live.values()].map((w) => w.process.pid!).filter(Boolean),
      setInstances: (service, list) => this.setInstances(service, list),
      addInstance: (service, instance) => this.addInstance(service, instance),
      removeInstance: (service, id) => this.removeInstance(service, id),
      drain: (service, id, o = {}) => this.drain(service, id, o.timeoutMs ?? 30_000),
      instances: (service) => this.instances(service),
      admissionStats: (service) => this.admissionStats(service),
      setAtMaxReplicas: (service, value) => this.setAtMaxReplicas(service, value),
      renderMetrics: () => this.renderMetrics(),
      close: (o = {}) => this.close(o.graceMs ?? 30_000),
    };
  }

  setInstances(service: string, list: readonly InstanceSpec[]): Promise<void> {
    this.#checkService(service);
    list.forEach(checkUrl);
    this.#current.set(service, [...list]);
    const keep = new Set(list.map((i) => i.id));
    const draining = this.#draining.get(service);
    for (const id of draining ?? []) if (!keep.has(id)) draining!.delete(id);
    return this.#ask((s) => ({ t: 'set', seq: s, service, instances: [...list] })).then(() => {});
  }

  addInstance(service: string, instance: InstanceSpec): void {
    this.#checkService(service);
    checkUrl(instance);
    const list = this.#current.get(service)!.filter((i) => i.id !== instance.id);
    list.push({ ...instance });
    this.#current.set(service, list);
    this.#draining.get(service)?.delete(instance.id);
    this.#broadcast({ t: 'add', service, instance: { ...instance } });
  }

  removeInstance(service: string, id: string): boolean {
    this.#checkService(service);
    const list = this.#current.get(service)!;
    const next = list.filter((i) => i.id !== id);
    if (next.length === list.length) return false;
    this.#current.set(service, next);
    this.#draining.get(service)?.delete(id);
    this.#broadcast({ t: 'remove', service, id });
    return true;
  }

  async drain(
    service: string,
    id: string,
    timeoutMs: number,
  ): Promise<{ drained: boolean; inflight: number }> {
    this.#checkService(service);
    let d = this.#draining.get(service);
    if (d === undefined) this.#draining.set(service, (d = new Set()));
    d.add(id);
    const p = await this.#ask((s) => ({ t: 'drain', seq: s, service, id, timeoutMs }));
    return { drained: p.drained, inflight: p.inflight };
  }

  /** Membership is the primary's (what it told every worker); figures are merged over the workers' reports. */
  instances(service: string): InstanceView[] {
    this.#checkService(service);
    const merged = this.#mergedReports(service);
    return this.#current.get(service)!.map((spec) => {
      const m = merged.get(spec.id);
      const state = this.#draining.get(service)?.has(spec.id) ? 'draining' : (m?.state ?? 'ready');
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

  admissionStats(service: string): { queue: number; inflight: number; limit: number } {
    this.#checkService(service);
    const out = { queue: 0, inflight: 0, limit: 0 };
    for (const r of this.#reports.values()) {
      const a = r.adm[service];
      if (a === undefined) continue;
      out.queue += a.queue;
      out.inflight += a.inflight;
      out.limit += a.limit;
    }
    return out;
  }

  setAtMaxReplicas(service: string, value: boolean): void {
    if (this.#atMax.get(service) === value) return;
    this.#atMax.set(service, value);
    this.#broadcast({ t: 'atMax', service, atMax: value });
  }

  async renderMetrics(): Promise<string> {
    const p = await Promise.race([
      this.#ask((s) => ({ t: 'metrics', seq: s })),
      new Promise<undefined>((r) => void setTimeout(() => r(undefined), 2000).unref()),
    ]);
    const own = (await this.#registry.getMetricsAsJSON()) as unknown as MetricJson[];
    return AggregatorRegistry.aggregate(mergeWorkerMetrics([own, ...(p?.json ?? [])])).metrics();
  }

  async close(graceMs: number): Promise<void> {
    this.#closing = true;
    const exits = [...this.#live.values()].map((w) => new Promise<void>((r) => w.once('exit', () => r())));
    this.#broadcast({ t: 'close', graceMs });
    await Promise.all(exits);
    this.signals?.close();
  }

  #init(): WorkerInit {
    return {
      options: this.#plain,
      workers: this.#n,
      instances: Object.fromEntries(this.#current),
      draining: Object.fromEntries([...this.#draining].map(([k, v]) => [k, [...v]])),
      atMax: Object.fromEntries(this.#atMax),
    };
  }

  /** Forks one worker; resolves with its port once it listens. */
  #fork(): Promise<number> {
    cluster.setupPrimary({ exec: this.#exec, execArgv: process.execArgv, silent: false });
    const w = cluster.fork();
    this.#live.set(w.id, w);
    const state = { listening: false };
    w.on('message', (m: FromWorker) => this.#onMessage(w, m, state));
    w.once('exit', (code, signal) => this.#onExit(w, state.listening, { code, signal }));
    return new Promise((resolve, reject) => {
      w.once('exit', (code) => reject(new Error(`gateway worker exited with ${code} before listening`)));
      w.on('message', (m: FromWorker) => {
        if (m.t === 'ready') resolve(m.port);
      });
    });
  }

  #onMessage(w: Worker, m: FromWorker, state: { listening: boolean }): void {
    // the worker asks once its listener is on: messages sent before that would be lost
    if (m.t === 'hello') w.send({ t: 'init', init: this.#init() } satisfies ToWorker);
    else if (m.t === 'report') {
      this.#reports.set(w.id, { inst: m.inst, adm: m.adm });
      if (m.sig) this.signals?.ingest(w.id, m.sig);
    } else if (m.t === 'drained') {
      const p = this.#pending.get(m.seq);
      if (p) {
        p.drained &&= m.drained;
        p.inflight += m.inflight;
      }
      this.#settle(m.seq, w.id);
    } else if (m.t === 'ack') this.#settle(m.seq, w.id);
    else if (m.t === 'metrics') {
      this.#pending.get(m.seq)?.json.push(m.json);
      this.#settle(m.seq, w.id);
    } else if (m.t === 'health') this.events.emit('health', m.e);
    else if (m.t === 'ready') state.listening = true;
  }

  #onExit(w: Worker, listening: boolean, exit: { code: number; signal: string }): void {
    this.#live.delete(w.id);
    this.#reports.delete(w.id);
    this.signals?.forgetWorker(w.id);
    for (const s of [...this.#pending.keys()]) this.#settle(s, w.id);
    if (this.#closing) return;
    this.events.emit('worker-exit', { pid: w.process.pid, code: exit.code, signal: exit.signal });
    // A crashed worker is replaced with the current membership; one that died before listening
    // waits a second so a broken build does not fork in a tight loop.
    const again = (): void =>
      void this.#fork().catch(() => {
        /* its own exit handler forks the next one */
      });
    if (listening) again();
    else setTimeout(() => !this.#closing && again(), 1000).unref();
  }

  #settle(s: number, id: number): void {
    const p = this.#pending.get(s);
    if (p === undefined || !p.waiting.delete(id) || p.waiting.size > 0) return;
    this.#pending.delete(s);
    p.done();
  }

  #broadcast(msg: ToWorker): void {
    for (const w of this.#live.values()) if (w.isConnected()) w.send(msg);
  }

  /** Sends `make(seq)` to every connected worker; resolves when each answered or exited. */
  #ask(make: (s: number) => ToWorker): Promise<Pending> {
    const s = ++this.#seq;
    const targets = [...this.#live.values()].filter((w) => w.isConnected());
    return new Promise((resolve) => {
      const p: Pending = {
        waiting: new Set(targets.map((w) => w.id)),
        drained: true,
        inflight: 0,
        json: [],
        done: () => resolve(p),
      };
      if (p.waiting.size === 0) return resolve(p);
      this.#pending.set(s, p);
      for (const w of targets) w.send(make(s));
    });
  }

  /** Each worker's view of a service's instances merged: summed in-flight, the worst health. */
  #mergedReports(service: string): Map<string, InstanceView> {
    const merged = new Map<string, InstanceView>();
    for (const r of this.#reports.values()) {
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
    return merged;
  }

  #checkService(service: string): void {
    if (!this.#current.has(service)) throw new RangeError(`unknown service "${service}"`);
  }
}

/** Validated in the primary: a bad URL must throw to the caller, not crash every worker. */
function checkUrl(i: InstanceSpec): void {
  if (new URL(i.url).protocol !== 'http:')
    throw new RangeError(`instance ${i.id}: only http:// upstreams are supported, got ${i.url}`);
}
