/**
 * The assembled program behind `luascale up` and `luascale demo`: one store, one gateway, one
 * provider and one control loop per service, and the admin listener. Wiring only: each piece
 * keeps its own logic. Provider events move instances in and out of the gateway's pools; a
 * scale-down drains the instance in the gateway before its process is stopped.
 */
import type { AddressInfo } from 'node:net';
import { systemClock, type Clock } from '../core/clock.js';
import { parseDuration } from '../core/duration.js';
import { LuascaleError } from '../core/errors.js';
import type { LoadedConfig } from '../config/load-config.js';
import { explainStoreLock, localStoreFile } from '../config/store-file.js';
import { checkPortsFree, listenError } from './check-ports.js';
import { preflight } from './preflight.js';
import type { Config } from '../config/schema.js';
import { createGateway } from '../gateway/gateway.js';
import { startGateway, type GatewayControl, type GatewayHandle } from '../gateway/start-gateway.js';
import { createAdmission, type Admission } from '../gateway/admission/admission.js';
import { createSignals, type Signals } from '../gateway/signals/signals.js';
import { createPrometheus } from '../gateway/prometheus.js';
import type { Slo } from '../policy/policy.js';
import { ServiceController } from '../controller/service-controller.js';
import type { Decision } from '../controller/decision.js';
import type { Provider } from '../controller/provider.js';
import { AlertEngine, type AlertNotice } from '../controller/alert-engine.js';
import { logNotifier, webhookNotifier, type AlertNotifier } from '../controller/alert-notifier.js';
import { createProvider, wireProviderToGateway } from './create-provider.js';
import { countByService, stopOrphanInstances } from '../providers/orphan-instances.js';
import { adminBackend } from './admin-backend.js';
import { alertRules, loadServices, recordObservation, specFrom, withSlos } from './service-inputs.js';
import { adminServerFactory, withTlsHttp2 } from './tls-http2-options.js';
import { openStore, type Store } from '../store/index.js';
import { DECISION_STATE_KEY } from '../store/state-store.js';
import type { DecisionState } from '../controller/decision.js';
import { buildAdminServer, type AdminEvent } from '../admin/admin-server.js';
import { createAdminEvents } from './admin-events.js';
import { startSandboxWorker, type SandboxWorker } from '../sandbox/sandbox-worker.js';
import { adminKeys, keyVerifierFromConfig } from './consumer-keys.js';
import { frontDoorFromConfig } from './llm-wiring.js';
import { llmRoutingFromConfig, withLlmBalancers } from './llm-routing.js';
import { genAiMetrics, pricesFromConfig, tokenLimiterFromConfig } from './llm-budgets.js';
import type { GenAiMetrics } from '../llm/metrics/genai-metrics.js';
import type { ClusterNode } from '../cluster/index.js';
import {
  accessLogFromConfig,
  gatewayOptions,
  WORKER_GATEWAY_MODULE,
  type WorkerGatewayArg,
} from './gateway-options.js';

/** Options that the CLI (or a test) passes besides the config. */
export interface AppOptions {
  clock?: Clock;
  /** One line per notable thing (decisions, instances, alerts). */
  log?: (line: string) => void;
  onDecision?: (decision: Decision) => void;
  onEvent?: (event: AdminEvent) => void;
  /** Override listeners (tests use port 0). */
  gatewayListen?: string;
  adminListen?: string;
}

/** A running luascale. */
export interface LuascaleApp {
  config: Config;
  /** The in-process gateway, or with `gateway.workers` > 1 the primary's view of every worker. */
  gateway: GatewayControl;
  /** Pids of the processes serving requests (this one, or the gateway workers). */
  gatewayPids(): number[];
  store: Store;
  controllers: Map<string, ServiceController>;
  providers: Map<string, Provider>;
  gatewayUrl: string;
  adminUrl: string;
  /** Stops accepting, finishes in-flight requests up to `graceMs`, stops instances, closes the store. */
  close(options?: { graceMs?: number; keepInstances?: boolean }): Promise<void>;
}

/** Starts everything a config describes. */
export async function startApp(loaded: LoadedConfig, options: AppOptions = {}): Promise<LuascaleApp> {
  const { config, baseDir } = loaded;
  const clock = options.clock ?? systemClock;
  const log = options.log ?? (() => {});
  // Before anything opens or listens, what `check` reports too (src/app/preflight.ts): listeners,
  // ports, OpenAPI files, cwd and commands, routes two services share.
  await preflight(loaded, { gatewayListen: options.gatewayListen, adminListen: options.adminListen });
  // A port in use stops the start here, before the store opens or an instance is adopted (issue 16).
  await checkPortsFree(loaded, { gatewayListen: options.gatewayListen, adminListen: options.adminListen });

  const workers = config.gateway.workers;
  const { apis, sources, settings, policies } = await loadServices(loaded);
  // What an OpenAPI import took from a document that breaks the spec, said once at start.
  for (const api of Object.values(apis)) for (const w of api?.warnings ?? []) log(`warning: ${w}`);

  // Lua policies run in a worker thread in the live loop: the instruction budget and memory cap
  // stop runaway scripts, and the worker's wall-clock backstop stops a hang inside one C call
  // (a pathological pattern match) without ever blocking the gateway on this thread.
  const luaServices = [...settings.values()].filter((s) => 'file' in s.policy);
  let sandbox: SandboxWorker | null = null;
  if (luaServices.length > 0) {
    sandbox = await startSandboxWorker({
      timeoutMs: Math.max(...luaServices.map((s) => s.limits.timeoutMs)),
    });
    for (const s of luaServices) {
      await sandbox.load(s.service, { file: (s.policy as { file: string }).file, limits: s.limits });
    }
  }

  // Cluster mode: Redis shares rate limits, signals, the leader lease, events and state; this
  // node's SQLite file keeps its metric history and its own instance records (one file per node:
  // src/config/store-file.ts).
  // Loaded only in cluster mode: ioredis and the cluster modules cost every other start ~65 ms.
  const clustering = config.store.redis ? await import('../cluster/index.js') : undefined;
  const node: ClusterNode | undefined =
    clustering && config.store.redis
      ? await clustering.createClusterNode({ url: config.store.redis, clock, log })
      : undefined;
  const storeFile = localStoreFile(config, baseDir, options.gatewayListen);
  let local: ReturnType<typeof openStore>;
  try {
    local = openStore({ file: storeFile, clock });
  } catch (err) {
    await node?.close();
    throw explainStoreLock(err, config);
  }
  const store: Store = node && clustering ? clustering.createRedisStore({ redis: node.redis, local }) : local;
  const admissions = new Map<string, Admission>();
  const [gHost, gPort] = splitListen(options.gatewayListen ?? config.gateway.listen);
  // `workers: N`: N processes share the listener; each rebuilds its gateway from the config
  // (gateway-options.ts) and this process, the primary, merges their signals once a second.
  let cluster: GatewayHandle | undefined;
  let signals: Signals;
  let gateway: GatewayControl;
  let inProcess: ReturnType<typeof createGateway> | undefined;
  // AI services (`llm:`): the front door's stage joins the pipeline (src/app/llm-wiring.ts), with
  // the consumers' token budgets (shared in Redis in cluster mode), the models' prices, the store's
  // usage ledger and the GenAI metrics (registered once the registry exists, below).
  // AI services' engine metrics, llm balancer and saturation hold (src/app/llm-routing.ts); one
  // process only: with `workers: N` each worker keeps its service's own balancer.
  const llmRouting =
    workers > 1 ? undefined : llmRoutingFromConfig(config, { now: () => clock.now(), intervalMs: 1000 });
  let genai: GenAiMetrics | undefined;
  const frontDoor = frontDoorFromConfig(loaded, {
    limiter: tokenLimiterFromConfig(
      config,
      node ? { redis: node.redis, prefix: node.prefix, gateways: () => node!.membership.count() } : undefined,
    ),
    prices: pricesFromConfig(config),
    ledger: store.usage,
    metrics: { record: (row) => genai?.record(row) },
    streams: llmRouting?.signals.recorder,
  });
  const notifiers: AlertNotifier[] = [logNotifier(log)];
  if (config.alerts?.webhook) {
    notifiers.push(
      webhookNotifier({ url: config.alerts.webhook, onError: (err) => log(`alert webhook: ${err.message}`) }),
    );
  }
  // A listener's failed certificate reload is an alert too (not tied to a service's tick).
  const raise = (notice: AlertNotice) => notifiers.forEach((n) => void n([notice]));
  const tlsContext = { baseDir, log, alert: raise };
  // One process writes its own access log; each worker of `workers: N` opens its own (gateway-options.ts).
  const accessLog = workers > 1 ? undefined : accessLogFromConfig(config, baseDir);
  if (workers > 1) {
    const arg: WorkerGatewayArg = {
      config,
      baseDir,
      workers,
      ...(node && config.store.redis ? { redis: { url: config.store.redis, prefix: node.prefix } } : {}),
    };
    cluster = await startGateway({
      ...gatewayOptions(config),
      clock,
      listen: { port: gPort, host: gHost },
      workers,
      worker: { module: WORKER_GATEWAY_MODULE, arg },
    });
    signals = cluster.signals!;
    gateway = cluster;
  } else {
    const own = createSignals(clock);
    signals = own;
    inProcess = createGateway({
      ...withTlsHttp2(withLlmBalancers(gatewayOptions(config, apis), llmRouting), config, tlsContext),
      ...(frontDoor ? { stages: frontDoor.stages } : {}),
      clock,
      signals,
      accessLog,
      keys: keyVerifierFromConfig(config, {
        keys: store.keys,
        sharedLimiter: node ? (name, rl) => node.rateLimiter(name, rl) : undefined,
      }),
      admission: (traffic, c, service) => {
        const rl = (traffic as { rate_limit?: { rps: number; burst?: number } }).rate_limit;
        const a = createAdmission(traffic as any, c, {
          limiter: node && rl ? node.rateLimiter(service, rl) : undefined,
          onQueue: (depth, waitMs) => {
            own.onQueue(service, depth, waitMs);
            // Scale from zero: the first waiter with no ready instance wakes the controller now, not
            // at its next tick (Knative's activator pokes its autoscaler the same way).
            if (depth === 1 && waitMs === undefined && admissions.get(service)?.stats().ready === 0)
              controllers.get(service)?.wake();
          },
          hold: llmRouting?.hold(service),
        });
        admissions.set(service, a);
        return a;
      },
    });
    gateway = inProcess;
  }
  // Each second: every AI service's instances' /metrics (timeout, stale marked), then its admission
  // re-checks its hold gate.
  const llmScrape = llmRouting
    ? setInterval(() => {
        void llmRouting.scrapeAll(
          (service) =>
            gateway.instances(service).filter((i) => i.state === 'ready' && i.health !== 'ejected'),
          (service) => admissions.get(service)?.tick(),
        );
      }, 1000).unref()
    : undefined;
  node?.publishSignals(signals);

  // The admin API's live feed: stored controller events, and one unstored `signals` event per tick.
  const events = createAdminEvents({
    store,
    clock,
    log,
    onEvent: options.onEvent,
    status: (service) => controllers.get(service)?.status(),
    instances: (service) => gateway.instances(service),
  });

  const alerts = new AlertEngine({ repeatIntervalMs: parseDuration(config.alerts?.repeat_interval ?? '4h') });

  // Services whose policy lives in the worker: Lua from config, and any hot-reloaded one.
  const inWorker = new Set(luaServices.map((s) => s.service));
  const evaluatePolicy = (service: string) => (ctx: Parameters<SandboxWorker['evaluate']>[1]) =>
    sandbox && inWorker.has(service)
      ? sandbox.evaluate(service, ctx)
      : Promise.resolve(controllers.get(service)!.spec.policy.evaluate(ctx));

  const providers = new Map<string, Provider>();
  const controllers = new Map<string, ServiceController>();
  for (const [name, svc] of Object.entries(config.services)) {
    const s = settings.get(name)!;
    const raw = await createProvider(name, svc, { baseDir, store, gateway, clock, log });
    if (raw.adopt) {
      const report = await raw.adopt();
      if (report.adopted.length || report.stopped.length) {
        // Stale ones stop in the background (in parallel): the gateway listens meanwhile (issue 17).
        log(
          `${name}: adopted ${report.adopted.length} running instance(s), stopping ${report.stopped.length} stale one(s)`,
        );
      }
      if (!node)
        for (const inst of report.adopted)
          if (inst.state === 'ready') gateway.addInstance(name, { id: inst.id, url: inst.url });
    }
    let provider: Provider = raw;
    if (node) {
      // Only the leader actuates; every gateway routes to the set the leader publishes.
      provider = node.fence(raw);
      node.publishInstances(name, provider);
      node.subscribeInstances(name, (list) => gateway.setInstances(name, list));
    }
    providers.set(name, provider);
    wireProviderToGateway(provider, gateway, { name, log, route: !node });
    const slo: Slo | undefined = s.slo ?? apis[name]?.slo;
    const controller = new ServiceController({
      spec: specFrom(s, policies.get(name)!),
      evaluatePolicy: evaluatePolicy(name),
      metricSources: sources.get(name),
      provider,
      clock,
      signals: node
        ? {
            snapshot: (service, now) =>
              node.signals.snapshot(service, now, Math.max(1, Math.round(s.windowMs / 1000))),
          }
        : {
            snapshot: (service, now) => {
              const snap = signals.snapshot(service, now, Math.max(1, Math.round(s.windowMs / 1000)));
              const a = admissions.get(service);
              const q = a?.stats();
              return {
                ...snap,
                ...(q ? { queue: q.queue } : {}),
                ...(llmRouting ? { llm: llmRouting.signals.group(service) } : {}),
                operations: withSlos(
                  snap.operations as unknown as Record<string, Record<string, unknown>>,
                  apis[service],
                ) as any,
              };
            },
          },
      history: store.history.historyReader(name),
      slo,
      startupMs: s.startupMs,
      state: (await store.state.get<DecisionState>(name, DECISION_STATE_KEY)) ?? undefined,
      alerts,
      alertRules: alertRules(svc),
      // Followers decide too (advisory); only the leader's decisions and state are recorded.
      onEvent: (e) => {
        // Failed launches, stops and lists are also in the `up` log, not only in the event log.
        if (e.type === 'error')
          log(
            `${name}: ${e.data.stage} failed: ${e.data.message}${e.data.retryInMs ? ` (retry in ${e.data.retryInMs} ms)` : ''}`,
          );
        if (!node || e.type !== 'decision' || node.lease.isHeld()) events.publish(e);
      },
      onAlerts: (notices) => {
        for (const n of notifiers) void n(notices);
      },
      onState: (state) => {
        if (!node || node.lease.isHeld())
          void Promise.resolve(store.state.set(name, DECISION_STATE_KEY, state)).catch((err) =>
            log(`store: ${(err as Error).message}`),
          );
      },
      onDecision: (d, o) => {
        recordObservation(store, name, o, clock.wallNow());
        admissions.get(name)?.setAtMaxReplicas(d.replicas >= s.max);
        // capacity that is coming counts in the queue's expected wait (issue 17 item 4)
        admissions.get(name)?.setDesiredReplicas(d.replicas, s.startupMs);
        cluster?.setAtMaxReplicas(name, d.replicas >= s.max);
        if (d.replicas !== d.current) log(`${name}: ${d.current} → ${d.replicas} ${d.reason}: ${d.message}`);
        options.onDecision?.(d);
        events.publishSignals(name, d, o);
      },
    });
    controllers.set(name, controller);
  }
  // A new leader's steady state would otherwise never reach the shared event log.
  node?.lease.on('change', (held: boolean) => {
    if (held) for (const c of controllers.values()) c.recordNextDecision();
  });
  // Recorded instances of services the process provider no longer runs (renamed, removed) would
  // live on for good after a crash: stop them, in the background (issue 17 item 7).
  const orphans = await stopOrphanInstances({
    services: new Set(Object.keys(config.services).filter((n) => 'process' in config.services[n]!.provider)),
    stopGraceMs: 10_000,
    store: store.instances,
  });
  if (orphans.stopped.length)
    log(
      `stopping ${orphans.stopped.length} instance(s) of services no longer in the config: ${countByService(orphans.stopped)}`,
    );
  const orphansStopped = orphans.stopping.catch((err) => log(`stopping orphans: ${(err as Error).message}`));

  // Taken since checkPortsFree (a race): the same one line, and nothing left open or bound.
  const released = async (err: unknown, key: 'gateway.listen' | 'admin.listen', listen: string) => {
    await gateway.close({ graceMs: 0 });
    await Promise.all([...providers.values()].map((p) => p.close()));
    for (const p of policies.values()) p.close?.();
    await orphansStopped;
    await Promise.all([accessLog?.close(), node?.close(), sandbox?.close(), store.close()]);
    const code = (err as NodeJS.ErrnoException).code;
    return code ? listenError(loaded, key, listen, code) : err;
  };
  const gAddr: AddressInfo = inProcess
    ? await inProcess.listen(gPort, gHost).catch(async (err: unknown) => {
        throw await released(err, 'gateway.listen', options.gatewayListen ?? config.gateway.listen);
      })
    : { address: gHost, port: cluster!.port, family: gHost.includes(':') ? 'IPv6' : 'IPv4' };
  const [aHost, aPort] = splitListen(options.adminListen ?? config.admin.listen);
  const prometheus = createPrometheus({
    signals,
    clock,
    admission: (service) => admissions.get(service)?.stats(),
    services: () => controllers.keys(),
  });
  if (frontDoor) genai = genAiMetrics(prometheus.registry);
  // The worker also runs every reload's trial evaluations; a config without Lua starts it on the first reload.
  let sandboxStarting: Promise<SandboxWorker> | undefined;
  const startWorker = async () =>
    (sandbox = await startSandboxWorker({
      timeoutMs: Math.max(...[...settings.values()].map((s) => s.limits.timeoutMs)),
    }));
  const backendSandbox = () => (sandboxStarting ??= sandbox ? Promise.resolve(sandbox) : startWorker());
  const backend = adminBackend({
    config,
    controllers,
    providers,
    gateway,
    signals,
    store,
    listeners: events.listeners,
    baseDir,
    settings,
    clock,
    policies,
    prometheus: cluster?.renderMetrics ? { ...prometheus, renderMetrics: cluster.renderMetrics } : prometheus,
    log,
    sandbox: backendSandbox,
    onPolicyReload: async (service, lua) => {
      if (!lua) {
        // A built-in runs on this thread (it is plain TypeScript with no loop of its own).
        inWorker.delete(service);
        await sandbox?.unload(service);
        return;
      }
      // The worker gets the new source too, and it becomes the live one.
      const worker = await backendSandbox();
      await worker.load(service, { ...lua, limits: settings.get(service)!.limits });
      inWorker.add(service);
    },
  });
  backend.keys = adminKeys(config, { keys: store.keys, clock });
  backend.usage = store.usage;
  const admin = await buildAdminServer({
    host: aHost,
    port: aPort,
    token: config.admin.token,
    allowedHosts: config.admin.allowed_hosts,
    backend,
    serverFactory: adminServerFactory(config, tlsContext),
  });
  await admin.listen({ host: aHost, port: aPort }).catch(async (err: unknown) => {
    await admin.close();
    throw await released(err, 'admin.listen', options.adminListen ?? config.admin.listen);
  });
  const aAddr = admin.server.address() as AddressInfo;
  for (const c of controllers.values()) c.start();
  let ready = true;
  backend.ready = () => ready;

  let closing: Promise<void> | null = null;
  return {
    config,
    gateway,
    gatewayPids: () => cluster?.pids() ?? [process.pid],
    store,
    controllers,
    providers,
    gatewayUrl: `http://${fmtHost(gAddr.address)}:${gAddr.port}`,
    adminUrl: `http://${fmtHost(aAddr.address)}:${aAddr.port}`,
    close(opts = {}) {
      closing ??= (async () => {
        // Connections get `graceMs` in all (gateway.drain_timeout): in-flight gateway requests
        // finish within it, and whatever is still open on the admin listener when it runs out
        // (event streams, keep-alive clients) is cut, so no client can hold the shutdown up.
        const graceMs = opts.graceMs ?? parseDuration(config.gateway.drain_timeout);
        const deadline = performance.now() + graceMs;
        ready = false;
        await Promise.all([...controllers.values()].map((c) => c.stop()));
        await gateway.close({ graceMs });
        await frontDoor?.close();
        clearInterval(llmScrape);
        await accessLog?.close();
        await node?.close();
        await closeBefore(admin, deadline);
        if (!opts.keepInstances) await Promise.all([...providers.values()].map((p) => p.close()));
        for (const p of policies.values()) p.close?.();
        await sandbox?.close();
        await orphansStopped;
        await store.close();
      })();
      return closing;
    },
  };
}

/**
 * Closes the admin listener: it stops accepting at once, requests in flight may finish until
 * `deadline` (performance.now() ms), and then every connection still open is destroyed.
 */
async function closeBefore(admin: Awaited<ReturnType<typeof buildAdminServer>>, deadline: number) {
  const closed = admin.close();
  let timer: NodeJS.Timeout | undefined;
  const cut = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, Math.max(0, deadline - performance.now()));
  });
  try {
    if ((await Promise.race([closed.then(() => 'closed'), cut])) === 'closed') return;
    admin.server.closeAllConnections();
    await closed;
  } finally {
    clearTimeout(timer);
  }
}

/** `host:port` or `[v6]:port` → [host, port]. */
export function splitListen(listen: string): [string, number] {
  const m = /^\[?([^\]]+?)\]?:(\d+)$/.exec(listen);
  if (!m)
    throw new LuascaleError('LS_ERR_CLI_USAGE', {
      reason: `bad listen address "${listen}" (expected host:port)`,
    });
  return [m[1]!, Number(m[2])];
}

function fmtHost(h: string): string {
  return h.includes(':') ? `[${h}]` : h;
}
