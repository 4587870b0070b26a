/**
 * The assembled program behind `luascale up` and `luascale demo`: one store, one gateway, one
 * provider and one control loop per service, and the admin listener. Wiring only: each piece
 * keeps its own logic. Provider events move instances in and out of the gateway's pools; a
 * scale-down drains the instance in the gateway before its process is stopped.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { AddressInfo } from 'node:net';
import { systemClock, type Clock } from '../core/clock.js';
import { formatDuration, parseDuration } from '../core/duration.js';
import { isLuascaleError, LuascaleError } from '../core/errors.js';
import type { LoadedConfig } from '../config/load-config.js';
import { checkListeners } from '../config/check-listeners.js';
import { explainStoreLock, localStoreFile } from '../config/store-file.js';
import { checkPortsFree, listenError } from './check-ports.js';
import { normaliseScaling, scalingFromConfig, type ScalingSettings } from '../config/scaling-settings.js';
import type { Config, ServiceConfig } from '../config/schema.js';
import { createGateway } from '../gateway/gateway.js';
import { startGateway, type GatewayControl, type GatewayHandle } from '../gateway/start-gateway.js';
import { createAdmission, type Admission } from '../gateway/admission/admission.js';
import { createSignals, type Signals } from '../gateway/signals/signals.js';
import { createPrometheus, type PrometheusExporter } from '../gateway/prometheus.js';
import { importOpenApi, type ImportedApi } from '../openapi/import-openapi.js';
import type { Policy, Slo } from '../policy/policy.js';
import { loadPolicy } from '../controller/load-policy.js';
import { ServiceController, type ControllerEvent } from '../controller/service-controller.js';
import type { Decision, ScalingSpec } from '../controller/decision.js';
import type { Provider } from '../controller/provider.js';
import { AlertEngine, type AlertRule } from '../controller/alert-engine.js';
import { logNotifier, webhookNotifier, type AlertNotifier } from '../controller/alert-notifier.js';
import { ProcessProvider } from '../providers/process-provider.js';
import { StaticProvider } from '../providers/static-provider.js';
import { ExecProvider } from '../providers/exec-provider.js';
import { execOptionsFromConfig, kubernetesOptionsFromConfig } from './provider-options.js';
import { createMetricSources } from './metric-sources-from-config.js';
import { openStore, type Store } from '../store/index.js';
import { DECISION_STATE_KEY } from '../store/state-store.js';
import type { DecisionState } from '../controller/decision.js';
import type { Observation } from '../policy/policy.js';
import { flatSignals, HISTORY_SIGNALS, loadSignalsOf } from '../signals/index.js';
import {
  buildAdminServer,
  type AdminBackend,
  type AdminEvent,
  type PolicySpec,
} from '../admin/admin-server.js';
import { startSandboxWorker, type SandboxWorker } from '../sandbox/sandbox-worker.js';
import { createClusterNode, createRedisStore, type ClusterNode } from '../cluster/index.js';
import {
  accessLogFromConfig,
  gatewayOptions,
  WORKER_GATEWAY_MODULE,
  type WorkerGatewayArg,
} from './gateway-options.js';
import { evaluateOnce } from '../controller/evaluate-once.js';
import { runTrial } from '../controller/trial-policy.js';

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
  // Before anything opens or listens: a non-loopback admin without a token, hosts that do not resolve.
  await checkListeners(loaded, { gatewayListen: options.gatewayListen, adminListen: options.adminListen });
  // A port in use stops the start here, before the store opens or an instance is adopted (issue 16).
  await checkPortsFree(loaded, { gatewayListen: options.gatewayListen, adminListen: options.adminListen });

  const workers = config.gateway.workers;
  // Import every OpenAPI document first: a broken one stops the start before anything runs.
  const apis: Record<string, ImportedApi | undefined> = {};
  for (const [name, svc] of Object.entries(config.services)) {
    if (svc.openapi) apis[name] = await importOpenApi(resolve(baseDir, svc.openapi));
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
  const node: ClusterNode | undefined = config.store.redis
    ? await createClusterNode({ url: config.store.redis, clock, log })
    : undefined;
  const storeFile = localStoreFile(config, baseDir, options.gatewayListen);
  let local: ReturnType<typeof openStore>;
  try {
    local = openStore({ file: storeFile, clock });
  } catch (err) {
    await node?.close();
    throw explainStoreLock(err, config);
  }
  const store: Store = node ? createRedisStore({ redis: node.redis, local }) : local;
  const admissions = new Map<string, Admission>();
  const [gHost, gPort] = splitListen(options.gatewayListen ?? config.gateway.listen);
  // `workers: N`: N processes share the listener; each rebuilds its gateway from the config
  // (gateway-options.ts) and this process, the primary, merges their signals once a second.
  let cluster: GatewayHandle | undefined;
  let signals: Signals;
  let gateway: GatewayControl;
  let inProcess: ReturnType<typeof createGateway> | undefined;
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
      ...gatewayOptions(config, apis),
      clock,
      signals,
      accessLog,
      admission: (traffic, c, service) => {
        const rl = (traffic as { rate_limit?: { rps: number; burst?: number } }).rate_limit;
        const a = createAdmission(traffic as any, c, {
          limiter: node && rl ? node.rateLimiter(service, rl) : undefined,
          onQueue: (depth, waitMs) => own.onQueue(service, depth, waitMs),
        });
        admissions.set(service, a);
        return a;
      },
    });
    gateway = inProcess;
  }
  node?.publishSignals(signals);

  let nextEventId = 0;
  const listeners = new Set<(e: AdminEvent) => void>();
  const deliver = (event: AdminEvent) => {
    for (const l of listeners) l(event);
    options.onEvent?.(event);
  };
  const publish = (e: ControllerEvent) => {
    try {
      const id: number | Promise<number> = (store as Store).events.append(e);
      if (typeof id === 'number') deliver({ id, ...e });
      else
        id.then(
          (n) => deliver({ id: n, ...e }),
          (err) => log(`store: ${(err as Error).message}`),
        );
    } catch (err) {
      // The store keeps a failed event queued and retries it (never dropped); show it live anyway.
      log(`store: ${(err as Error).message}`);
      deliver({ id: --nextEventId, ...e });
    }
  };

  // Live, unstored: one `signals` event per tick and service, for the dashboard's charts.
  const publishSignals = (service: string, d: Decision, o: Observation) => {
    if (listeners.size === 0) return;
    const c = controllers.get(service);
    if (!c) return;
    const st = c.status();
    const gw = new Map(gateway.instances(service).map((i) => [i.id, i]));
    deliver({
      id: 0,
      service,
      type: 'signals',
      at: clock.wallNow(),
      data: {
        replicas: { desired: d.replicas, ...st.replicas },
        ...loadSignalsOf(o),
        admitted_rps: Math.max(0, o.rps - o.shed_rps),
        slo: o.slo ?? null,
        reason: d.reason,
        instances: st.instances.map((i) => ({
          id: i.id,
          state: i.state,
          cpu: st.usage[i.id]?.cpu ?? null,
          memory: st.usage[i.id]?.memory ?? null,
          inflight: gw.get(i.id)?.inflight ?? 0,
        })),
      },
    });
  };

  const notifiers: AlertNotifier[] = [logNotifier(log)];
  if (config.alerts?.webhook) {
    notifiers.push(
      webhookNotifier({ url: config.alerts.webhook, onError: (err) => log(`alert webhook: ${err.message}`) }),
    );
  }
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
    const raw = await createProvider(name, svc, baseDir, store, gateway, clock, log);
    if (raw.adopt) {
      const report = await raw.adopt();
      if (report.adopted.length || report.stopped.length) {
        log(
          `${name}: adopted ${report.adopted.length} running instance(s), stopped ${report.stopped.length} stale one(s)`,
        );
      }
      if (!node) for (const inst of report.adopted) gateway.addInstance(name, { id: inst.id, url: inst.url });
    }
    let provider: Provider = raw;
    if (node) {
      // Only the leader actuates; every gateway routes to the set the leader publishes.
      provider = node.fence(raw);
      node.publishInstances(name, provider);
      node.subscribeInstances(name, (list) => gateway.setInstances(name, list));
    }
    providers.set(name, provider);
    wireProviderToGateway(provider, gateway, name, log, !node);
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
        if (!node || e.type !== 'decision' || node.lease.isHeld()) publish(e);
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
        publishSignals(name, d, o);
      },
    });
    controllers.set(name, controller);
  }

  // Taken since checkPortsFree (a race): the same one line, and nothing left open or bound.
  const released = async (err: unknown, key: 'gateway.listen' | 'admin.listen', listen: string) => {
    await gateway.close({ graceMs: 0 });
    await Promise.all([...providers.values()].map((p) => p.close()));
    for (const p of policies.values()) p.close?.();
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
    listeners,
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
  const admin = await buildAdminServer({
    host: aHost,
    port: aPort,
    token: config.admin.token,
    allowedHosts: config.admin.allowed_hosts,
    backend,
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
        await accessLog?.close();
        await node?.close();
        await closeBefore(admin, deadline);
        if (!opts.keepInstances) await Promise.all([...providers.values()].map((p) => p.close()));
        for (const p of policies.values()) p.close?.();
        await sandbox?.close();
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

/**
 * Every imported operation, with its SLO (operation, path or document level, from the OpenAPI
 * import), and its measured signals once it has seen traffic: this is ctx.operations.
 */
function withSlos(
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
function recordObservation(store: Store, service: string, o: Observation, at: number): void {
  const h = store.history;
  const put = (metric: string, v: number) => Number.isFinite(v) && h.record(service, metric, at, v);
  const values = flatSignals(o);
  for (const name of HISTORY_SIGNALS) put(name, values[name]);
  for (const [k, v] of Object.entries(o.metrics ?? {})) put(k, v);
}

function specFrom(s: ScalingSettings, policy: Policy): ScalingSpec {
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

function alertRules(svc: ServiceConfig): AlertRule[] {
  return (svc.alerts ?? []).map((a, i) => ({
    name: a.name ?? `Rule${i + 1}_${a.metric.replace(/\W+/g, '_')}`,
    metric: a.metric,
    op: a.op as AlertRule['op'],
    threshold: a.threshold,
    forMs: parseDuration(a.for),
    severity: a.severity,
  }));
}

async function createProvider(
  name: string,
  svc: ServiceConfig,
  baseDir: string,
  store: Store,
  gateway: GatewayControl,
  clock: Clock,
  log: (l: string) => void,
): Promise<Provider> {
  const p = svc.provider;
  const drainHook = (timeoutMs: number) => async (inst: { id: string }) => {
    await gateway.drain(name, inst.id, { timeoutMs });
  };
  if ('process' in p) {
    const pr = p.process;
    return new ProcessProvider({
      service: name,
      command: [...pr.command],
      cwd: resolve(baseDir, pr.cwd ?? '.'),
      env: { ...pr.env },
      portEnv: pr.port_env,
      healthPath: pr.health_path,
      readiness: { intervalMs: 100, timeoutMs: 1000, startTimeoutMs: parseDuration(pr.start_timeout) },
      stopGraceMs: parseDuration(pr.stop_grace),
      logDir: resolve(baseDir, pr.log_dir ?? '.luascale/logs'),
      memoryLimitBytes: pr.memory_limit_mb ? pr.memory_limit_mb * 1024 * 1024 : undefined,
      instanceStore: store.instances,
      drainHook: drainHook(parseDuration(pr.stop_grace)),
      clock,
      onError: (err, context) => log(`${name}: ${context}: ${(err as Error)?.message ?? err}`),
    });
  }
  if ('static' in p) return new StaticProvider({ service: name, targets: [...p.static.targets] });
  if ('exec' in p) {
    const ep = new ExecProvider({
      ...execOptionsFromConfig(name, p.exec, baseDir),
      clock,
      drainHook: drainHook(30_000),
      onError: (err) => log(`${name}: ${(err as Error)?.message ?? err}`),
    });
    // A failing first list is logged (onError) and retried with back-off: start with no targets.
    await ep.whenSynced().catch(() => {});
    return ep;
  }
  // Loaded on demand: @kubernetes/client-node is large and only this provider needs it.
  const { KubernetesProvider } = await import('../providers/kubernetes-provider.js');
  const kp = new KubernetesProvider({
    ...kubernetesOptionsFromConfig(name, p.kubernetes, baseDir),
    clock,
    drainHook: drainHook(30_000),
    onError: (err) => log(`${name}: ${(err as Error)?.message ?? err}`),
  });
  await kp.whenSynced();
  return kp;
}

/** Moves instances in and out of the gateway's pool as the provider reports them (not in cluster mode: the registry does). */
function wireProviderToGateway(
  provider: Provider,
  gateway: GatewayControl,
  name: string,
  log: (l: string) => void,
  route = true,
): void {
  provider.on('ready', (inst) => {
    if (route) gateway.addInstance(name, { id: inst.id, url: inst.url });
    log(`${name}: instance ${inst.id} ready at ${inst.url}${inst.adopted ? ' (adopted)' : ''}`);
  });
  provider.on('unready', (inst) => {
    // Not ready is not routed; the `ready` above puts it back when it recovers.
    if (route) gateway.removeInstance(name, inst.id);
    log(`${name}: instance ${inst.id} is not ready; not routed until it is`);
  });
  provider.on('exited', (inst, exit) => {
    if (route) gateway.removeInstance(name, inst.id);
    if (exit.killedBy === 'luascale')
      log(
        `${name}: instance ${inst.id} was killed by luascale (${exit.signal ?? 'SIGKILL'}): ${exit.reason}`,
      );
    else if (!exit.expected)
      log(`${name}: instance ${inst.id} exited unexpectedly (code ${exit.code}, signal ${exit.signal})`);
  });
  provider.on('failed', (inst, reason) => {
    if (route) gateway.removeInstance(name, inst.id);
    log(`${name}: instance ${inst.id} failed: ${reason}`);
  });
  if (route)
    for (const inst of provider.list())
      if (inst.state === 'ready') gateway.addInstance(name, { id: inst.id, url: inst.url });
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

interface BackendDeps {
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
function adminBackend(d: BackendDeps): AdminBackend {
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
