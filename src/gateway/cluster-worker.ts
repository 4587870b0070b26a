/**
 * One worker of a `workers: N` gateway (the other side of cluster-primary.ts): it asks the primary
 * for its init, builds its gateway with the limits divided by N, listens on the shared port,
 * reports once a second, and obeys the primary's membership, drain, metrics and close messages.
 */
import { systemClock, type Clock } from '../core/clock.js';
import { createAdmission, type Admission } from './admission/admission.js';
import type { FromWorker, MetricJson, ToWorker, WorkerInit } from './cluster-protocol.js';
import { createGateway, type Gateway } from './gateway.js';
import { createPrometheus } from './prometheus.js';
import { createSignals, type Signals } from './signals/signals.js';
import { divideTraffic, type WorkerBuild } from './start-gateway.js';
import { startWorkerSignalsReporter, type WorkerSignalsReport } from './worker-signals.js';

/** What a worker's message handling needs. */
interface WorkerContext {
  gw: Gateway;
  admissions: Map<string, Admission>;
  send: (m: FromWorker) => void;
  close: (graceMs: number) => void;
}

/** Runs inside a cluster worker: waits for its init from the primary, builds the gateway, obeys. */
export async function runGatewayWorker(): Promise<void> {
  const init = await receiveInit();
  const clock = systemClock;
  const plain = init.options;
  let build: WorkerBuild = { options: plain };
  if (plain.worker) {
    const m = (await import(plain.worker.module)) as {
      buildWorkerGateway(arg: unknown): Promise<WorkerBuild>;
    };
    build = await m.buildWorkerGateway(plain.worker.arg);
  }
  const signals = plain.metrics === false ? undefined : createSignals(clock);
  const admissions = new Map<string, Admission>();
  const gw = buildGateway(init, build, { clock, signals, admissions });
  for (const [service, ids] of Object.entries(init.draining))
    for (const id of ids) void gw.drain(service, id, { timeoutMs: 30_000 });
  // Every worker asks for the configured port; with port 0 node's cluster gives them all the same
  // ephemeral port (the primary keys the shared handle by the requested address and port).
  const addr = await gw.listen(plain.listen.port, plain.listen.host ?? '127.0.0.1');
  const names = Object.keys(build.options.services);
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
  const ctx: WorkerContext = { gw, admissions, send, close };
  let prometheus: ReturnType<typeof createPrometheus> | undefined;
  process.on('message', (m: ToWorker) => {
    if (m.t === 'metrics') {
      prometheus ??= createPrometheus({
        signals: signals ?? createSignals(clock),
        clock,
        admission: (s) => admissions.get(s)?.stats(),
        services: () => names,
      });
      const registries = [prometheus.registry, ...(build.registries ?? [])];
      void Promise.all(registries.map((r) => r.getMetricsAsJSON())).then((parts) =>
        send({ t: 'metrics', seq: m.seq, json: parts.flat() as unknown as MetricJson[] }),
      );
    } else onMessage(ctx, m);
  });
  // The primary going away (killed) must not leave this worker serving on its own.
  process.once('disconnect', () => close(1000));
  process.once('SIGTERM', () => close(30_000));
  process.once('SIGINT', () => {
    // Ctrl-C reaches the whole process group: the primary decides when workers close.
  });
  send({ t: 'ready', port: addr.port });
}

/** Says hello once the IPC channel is up and resolves with the primary's init. */
function receiveInit(): Promise<WorkerInit> {
  return new Promise<WorkerInit>((resolve) => {
    const first = (m: ToWorker): void => {
      if (m.t !== 'init') return;
      process.off('message', first);
      resolve(m.init);
    };
    process.on('message', first);
    process.send?.({ t: 'hello' } satisfies FromWorker);
  });
}

/** This worker's gateway: the build's options with limits divided by N and the primary's membership. */
function buildGateway(
  init: WorkerInit,
  build: WorkerBuild,
  deps: { clock: Clock; signals: Signals | undefined; admissions: Map<string, Admission> },
): Gateway {
  const { clock, signals, admissions } = deps;
  const shared = build.rateLimiter !== undefined;
  const services = Object.fromEntries(
    Object.entries(build.options.services).map(([k, s]) => [
      k,
      {
        ...s,
        traffic: divideTraffic(s.traffic, init.workers, { rateLimit: !shared }),
        // a route's own limits are local to each worker (never in Redis), so always divided
        routes: s.routes.map((r) =>
          r.traffic === undefined ? r : { ...r, traffic: divideTraffic(r.traffic, init.workers) },
        ),
        instances: init.instances[k] ?? s.instances,
      },
    ]),
  );
  return createGateway({
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
}

/** The primary's membership, drain and close messages. */
function onMessage(ctx: WorkerContext, m: ToWorker): void {
  const { gw, send } = ctx;
  if (m.t === 'set') {
    gw.setInstances(m.service, m.instances);
    send({ t: 'ack', seq: m.seq });
  } else if (m.t === 'add') gw.addInstance(m.service, m.instance);
  else if (m.t === 'remove') gw.removeInstance(m.service, m.id);
  else if (m.t === 'atMax') ctx.admissions.get(m.service)?.setAtMaxReplicas(m.atMax);
  else if (m.t === 'drain') {
    void gw
      .drain(m.service, m.id, { timeoutMs: m.timeoutMs })
      .then((r) => send({ t: 'drained', seq: m.seq, ...r }));
  } else if (m.t === 'close') ctx.close(m.graceMs);
}
