/**
 * Starting the gateway in one process or as `workers: N` node:cluster processes sharing the
 * listener (the primary accepts and hands connections round-robin; keep-alive makes that cost
 * per connection, not per request). Every worker runs the whole pipeline on its own, so state is
 * per worker: instances, health, balancer load and signals. Limits are DIVIDED by N so the
 * cluster as a whole enforces the configured numbers: rate_limit rps and burst, concurrency
 * per_instance and queue max are each ceil(value / N) per worker. Membership changes and drains
 * are broadcast to every worker over IPC; a drain reports done when every worker is done.
 */
import cluster, { type Worker } from 'node:cluster';
import { EventEmitter } from 'node:events';
import { fileURLToPath } from 'node:url';
import { systemClock } from '../core/clock.js';
import { createGateway, type Gateway, type GatewayOptions, type ProxyTraffic } from './gateway.js';
import { createSignals } from './signals/signals.js';
import type { InstanceSpec } from './upstream-pool.js';

/** Options for {@link startGateway}: gateway options plus where to listen and how many processes. */
export interface StartGatewayOptions extends GatewayOptions {
  listen: { port: number; host?: string };
  /** Processes sharing the listener (default 1 = this process). */
  workers?: number;
  /** Record signals (per process) when no `signals` sink is given; default true. */
  metrics?: boolean;
}

/** The control surface common to one process and a cluster. */
export interface GatewayHandle {
  readonly port: number;
  /** The in-process gateway (undefined with workers > 1). */
  readonly gateway: Gateway | undefined;
  readonly events: EventEmitter;
  /** Pids of the processes serving requests (this one, or the cluster workers). */
  pids(): number[];
  /** Replaces a service's instances; resolves once every process applied the change. */
  setInstances(service: string, instances: readonly InstanceSpec[]): Promise<void>;
  drain(
    service: string,
    id: string,
    options?: { timeoutMs?: number },
  ): Promise<{ drained: boolean; inflight: number }>;
  close(options?: { graceMs?: number }): Promise<void>;
}

type ToWorker =
  | { t: 'set'; seq: number; service: string; instances: InstanceSpec[] }
  | { t: 'drain'; seq: number; service: string; id: string; timeoutMs: number }
  | { t: 'close'; graceMs: number };
type FromWorker =
  | { t: 'ready'; port: number }
  | { t: 'ack'; seq: number }
  | { t: 'drained'; seq: number; drained: boolean; inflight: number }
  | { t: 'health'; e: unknown };

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
      pids: () => [process.pid],
      setInstances: async (service, list) => gw.setInstances(service, list),
      drain: gw.drain,
      async close(o) {
        await gw.close(o);
        own?.close();
      },
    };
  }
  return startCluster(options, workers);
}

/** Per-worker share of the configured limits (see module comment). */
export function divideTraffic(t: ProxyTraffic | undefined, n: number): ProxyTraffic | undefined {
  if (t === undefined || n <= 1) return t;
  const out: ProxyTraffic = { ...t };
  const rl = t.rate_limit as { rps?: number; burst?: number } | undefined;
  if (rl)
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

async function startCluster(options: StartGatewayOptions, n: number): Promise<GatewayHandle> {
  const here = fileURLToPath(import.meta.url);
  const exec = here.replace(/start-gateway\.(ts|js)$/, 'gateway-worker.$1');
  // Only plain data crosses to workers; collaborators (clock, admission factory, sinks) stay default there.
  const { clock: _c, admission: _a, signals: _s, accessLog: _l, ...plain } = options;
  const services = Object.fromEntries(
    Object.entries(plain.services).map(([k, s]) => [k, { ...s, traffic: divideTraffic(s.traffic, n) }]),
  );
  const current = new Map<string, InstanceSpec[]>();
  for (const [k, s] of Object.entries(options.services)) current.set(k, s.instances ?? []);
  const events = new EventEmitter();
  const live = new Set<Worker>();
  let closing = false;
  let seq = 0;
  const acks = new Map<number, { left: number; resolve: () => void }>();
  const pending = new Map<
    number,
    {
      left: number;
      drained: boolean;
      inflight: number;
      resolve: (r: { drained: boolean; inflight: number }) => void;
    }
  >();
  // Every worker asks for the configured port; with port 0 node's cluster gives them all the same
  // ephemeral port (the primary keys the shared handle by the requested address and port).
  const port0 = options.listen.port;

  function fork(): Promise<number> {
    cluster.setupPrimary({ exec, execArgv: process.execArgv, silent: false });
    const svc = Object.fromEntries(
      Object.entries(services).map(([k, s]) => [k, { ...s, instances: current.get(k) }]),
    );
    const w = cluster.fork({
      LUASCALE_GATEWAY_OPTIONS: JSON.stringify({
        ...plain,
        services: svc,
        listen: { ...plain.listen, port: port0 },
      }),
    });
    live.add(w);
    w.on('message', (m: FromWorker) => {
      if (m.t === 'drained') {
        const p = pending.get(m.seq);
        if (!p) return;
        p.left--;
        p.drained &&= m.drained;
        p.inflight += m.inflight;
        if (p.left === 0) {
          pending.delete(m.seq);
          p.resolve({ drained: p.drained, inflight: p.inflight });
        }
      } else if (m.t === 'ack') {
        const a = acks.get(m.seq);
        if (a && --a.left === 0) {
          acks.delete(m.seq);
          a.resolve();
        }
      } else if (m.t === 'health') events.emit('health', m.e);
    });
    w.once('exit', () => {
      live.delete(w);
      if (!closing) void fork(); // a crashed worker is replaced, with the current membership
    });
    return new Promise((resolve, reject) => {
      w.once('exit', (code) => reject(new Error(`gateway worker exited with ${code} before listening`)));
      w.on('message', (m: FromWorker) => {
        if (m.t === 'ready') resolve(m.port);
      });
    });
  }

  const ports = await Promise.all(Array.from({ length: n }, () => fork()));
  const port = ports[0]!;

  function broadcast(msg: ToWorker): void {
    for (const w of live) if (w.isConnected()) w.send(msg);
  }

  return {
    port,
    gateway: undefined,
    events,
    pids: () => [...live].map((w) => w.process.pid!).filter(Boolean),
    setInstances(service, instances) {
      // Validate here: a bad URL must throw to the caller, not crash every worker.
      if (!current.has(service)) throw new RangeError(`unknown service "${service}"`);
      for (const i of instances) {
        if (new URL(i.url).protocol !== 'http:')
          throw new RangeError(`instance ${i.id}: only http:// upstreams are supported, got ${i.url}`);
      }
      current.set(service, [...instances]);
      const s = ++seq;
      return new Promise((resolve) => {
        acks.set(s, { left: live.size, resolve });
        broadcast({ t: 'set', seq: s, service, instances: [...instances] });
      });
    },
    drain(service, id, o = {}) {
      const s = ++seq;
      return new Promise((resolve) => {
        pending.set(s, { left: live.size, drained: true, inflight: 0, resolve });
        broadcast({ t: 'drain', seq: s, service, id, timeoutMs: o.timeoutMs ?? 30_000 });
      });
    },
    async close(o = {}) {
      closing = true;
      const exits = [...live].map((w) => new Promise<void>((r) => w.once('exit', () => r())));
      broadcast({ t: 'close', graceMs: o.graceMs ?? 30_000 });
      await Promise.all(exits);
    },
  };
}

/** Runs inside a cluster worker: builds the gateway from the env and obeys the primary. */
export async function runGatewayWorker(): Promise<void> {
  const opts = JSON.parse(process.env.LUASCALE_GATEWAY_OPTIONS ?? '{}') as StartGatewayOptions;
  const signals = opts.metrics === false ? undefined : createSignals(systemClock);
  const gw = createGateway({ ...opts, signals });
  const addr = await gw.listen(opts.listen.port, opts.listen.host ?? '127.0.0.1');
  gw.events.on('health', (e) => process.send?.({ t: 'health', e }));
  process.on('message', (m: ToWorker) => {
    if (m.t === 'set') {
      gw.setInstances(m.service, m.instances);
      process.send?.({ t: 'ack', seq: m.seq });
    } else if (m.t === 'drain') {
      void gw
        .drain(m.service, m.id, { timeoutMs: m.timeoutMs })
        .then((r) => process.send?.({ t: 'drained', seq: m.seq, ...r }));
    } else if (m.t === 'close') void gw.close({ graceMs: m.graceMs }).then(() => process.exit(0));
  });
  process.once('SIGTERM', () => void gw.close({ graceMs: 30_000 }).then(() => process.exit(0)));
  process.send?.({ t: 'ready', port: addr.port });
}

/** Installs SIGTERM/SIGINT handling: stop accepting, finish in-flight up to graceMs, exit 0. */
export function exitOnSignals(handle: GatewayHandle, graceMs: number): void {
  const stop = (): void => void handle.close({ graceMs }).then(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}
