/**
 * One service's live set of upstream instances: undici connection pools (keep-alive), the balancer's
 * view of load and latency, health state, slow start and draining. Membership changes never lose a
 * request: a removed or drained instance leaves the eligible set at once, and its connections are
 * closed only after the requests already on it finish (undici `Pool.close()` waits for them).
 *
 * Instance lifecycle: ready → draining → (drained) → removed; health is orthogonal (health-state.ts).
 */
import { EventEmitter } from 'node:events';
import { Pool, type Dispatcher } from 'undici';
import type { Clock } from '../core/clock.js';
import type { Balancer, Endpoint, PickContext } from './balancer.js';
import {
  DEFAULT_HEALTH_THRESHOLDS,
  isEligible,
  newHealthState,
  recordOutcome,
  tickHealth,
  type HealthState,
  type HealthStatus,
  type HealthThresholds,
} from './health-state.js';
import { LeanPool } from './lean/lean-pool.js';
import { GRPC_HEALTH_PATH, grpcHealthCheck } from './grpc/grpc-health.js';
import { H2Upstream } from './http2/h2-upstream.js';
import { watchUpstreamTls, type UpstreamTls, type UpstreamTlsFiles } from './tls/upstream-tls.js';
import { updatePeakEwma } from './peak-ewma.js';

/** An instance as the autoscaler or config names it. */
export interface InstanceSpec {
  id: string;
  /** Origin, e.g. `http://127.0.0.1:8081`. */
  url: string;
}

/** Health checking for one service (flat, as in luascale.yaml); all times in ms. */
export interface HealthOptions {
  /** Active probe path; omitted = passive checking only. */
  path?: string;
  /** Probe interval (default 5000). */
  interval?: number;
  /** Probe timeout (default 1000). */
  timeout?: number;
  /** Probe successes that bring a probing instance back (default 1 passive, as configured for active). */
  healthy_threshold?: number;
  /** Consecutive probe failures that eject (default 2). */
  unhealthy_threshold?: number;
  /** Consecutive 5xx / connect errors on real traffic that eject (default 5, Envoy consecutive_5xx). */
  consecutive_errors?: number;
  /** First ejection length (default 10 000); doubles per ejection. */
  base_ejection?: number;
  /** Longest ejection (default 300 000). */
  max_ejection?: number;
  /** At most this % of instances ejected at once, but always at least one (default 50). */
  max_ejection_percent?: number;
  /** Slow-start window for new (or recovered) instances; 0 = off (default). */
  slow_start?: number;
  /** Minimum slow-start weight, 0..1 (default 0.1, Envoy's min_weight_percent 10 %). */
  slow_start_min_weight?: number;
}

/** Connection settings towards upstream instances. */
export interface UpstreamOptions {
  /**
   * Connections per instance (default 64). The gateway keeps admission's per-instance limit at or
   * below it (service-runtime.ts `withConnectionLimit`), so requests wait in admission's queue.
   */
  connections?: number;
  /** Idle keep-alive per upstream connection in ms (default 4000, under most servers' 5 s). */
  keep_alive?: number;
  /**
   * `h1` (default): HTTP/1.1 through undici pools. `h2` / `h2c`: one HTTP/2 session per instance
   * (TLS / cleartext prior knowledge), every request a stream on it (http2/h2-upstream.ts; gRPC).
   */
  protocol?: 'h1' | 'h2' | 'h2c';
  /** TLS towards `https://` instances: CA, client certificate (PEM contents). */
  tls?: UpstreamTls;
  /**
   * The files `tls` was read from: re-read when they change (a rotated client certificate or CA).
   * A set that loads is used by every new connection (the instances' clients are replaced; open
   * requests finish on the old ones); one that does not keeps the old set. Each outcome goes to
   * `onReload`.
   */
  tls_files?: UpstreamTlsFiles;
  /**
   * The HTTP/1.1 client for requests: `lean` (default; src/gateway/lean/: node's llhttp, one write
   * per head) or `undici`. Health probes and WebSocket upgrades use undici / node:http either way.
   */
  client?: 'lean' | 'undici';
}

/** What the forward stage sends a request through: undici's Pool or the lean client. */
export interface Forwarder {
  dispatch(opts: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean;
}

/** Live state of one upstream instance. */
export class UpstreamInstance implements Endpoint {
  readonly id: string;
  readonly url: string;
  readonly hostname: string;
  readonly port: number;
  inflight = 0;
  ewmaMs = 0;
  ewmaAt = 0;
  weight = 1;
  state: 'ready' | 'draining' | 'removed' = 'ready';
  readyAt: number;
  readonly health: HealthState = newHealthState();
  /** undici pools keyed by connect timeout (undici sets the connect timeout per pool, not per request). */
  readonly dispatchers = new Map<number, Dispatcher>();
  /** Lean clients keyed by connect timeout, as `dispatchers`. */
  readonly lean = new Map<number, LeanPool>();
  idleWaiters: (() => void)[] = [];
  ejectTimer: NodeJS.Timeout | undefined;

  constructor(spec: InstanceSpec, now: number) {
    this.id = spec.id;
    this.url = spec.url;
    const u = new URL(spec.url);
    if (u.protocol !== 'http:' && u.protocol !== 'https:')
      throw new RangeError(
        `instance ${spec.id}: only http:// and https:// upstreams are supported, got ${spec.url}`,
      );
    this.hostname = u.hostname.replace(/^\[|\]$/g, '');
    this.port = Number(u.port || (u.protocol === 'https:' ? 443 : 80));
    this.readyAt = now;
  }
}

/** Health transition events, for logs and tests. */
export interface HealthEvent {
  service: string;
  instance: string;
  status: HealthStatus;
}

/** The live pool of one service. */
export interface UpstreamPool {
  readonly service: string;
  /** The protocol spoken to the instances (upstream.protocol). */
  readonly protocol: 'h1' | 'h2' | 'h2c';
  readonly events: EventEmitter;
  /** Instances that may take new requests. */
  eligible(): readonly UpstreamInstance[];
  all(): readonly UpstreamInstance[];
  pick(ctx: PickContext, exclude?: UpstreamInstance): UpstreamInstance | undefined;
  /** The undici pool (or HTTP/2 session) for an instance and connect timeout. */
  dispatcher(inst: UpstreamInstance, connectTimeout: number): Dispatcher;
  /** What requests go through: the lean client when `upstream.client` is `lean`, else `dispatcher`. */
  forwarder(inst: UpstreamInstance, connectTimeout: number): Forwarder;
  /** Replaces membership: adds new ids, removes missing ones gracefully, keeps the rest. */
  setInstances(specs: readonly InstanceSpec[]): void;
  addInstance(spec: InstanceSpec): void;
  removeInstance(id: string): boolean;
  /** Stops new requests to the instance and waits for its in-flight ones (up to timeoutMs). */
  drain(id: string, timeoutMs: number): Promise<{ drained: boolean; inflight: number }>;
  /** Marks a request started on `inst`. */
  begin(inst: UpstreamInstance): void;
  /** Marks it finished; `failure` is a passive health failure (5xx or connect error). */
  end(inst: UpstreamInstance, failure: boolean, rttMs: number | undefined, now: number): void;
  close(): Promise<void>;
}

/** Creates a pool; `onReadyChange(n)` fires whenever the number of eligible instances changes. */
export function createUpstreamPool(options: {
  service: string;
  balancer: Balancer;
  clock: Clock;
  health?: HealthOptions;
  upstream?: UpstreamOptions;
  decayMs?: number;
  onReadyChange?: (ready: number) => void;
  /** An instance left the pool for good. */
  onRemoved?: (id: string) => void;
}): UpstreamPool {
  const { service, balancer, clock } = options;
  const health = options.health ?? {};
  const thresholds: HealthThresholds = {
    consecutiveErrors: health.consecutive_errors ?? DEFAULT_HEALTH_THRESHOLDS.consecutiveErrors,
    unhealthyThreshold: health.unhealthy_threshold ?? DEFAULT_HEALTH_THRESHOLDS.unhealthyThreshold,
    healthyThreshold: health.healthy_threshold ?? DEFAULT_HEALTH_THRESHOLDS.healthyThreshold,
    baseEjectionMs: health.base_ejection ?? DEFAULT_HEALTH_THRESHOLDS.baseEjectionMs,
    maxEjectionMs: health.max_ejection ?? DEFAULT_HEALTH_THRESHOLDS.maxEjectionMs,
  };
  const maxEjectPct = health.max_ejection_percent ?? 50;
  const active = health.path !== undefined;
  const slowStart = health.slow_start ?? 0;
  const minWeight = health.slow_start_min_weight ?? 0.1;
  const decayMs = options.decayMs ?? 10_000;
  const connections = options.upstream?.connections ?? 64;
  const keepAlive = options.upstream?.keep_alive ?? 4000;
  const protocol = options.upstream?.protocol ?? 'h1';
  let upstreamTls = options.upstream?.tls;
  const stopTlsWatch = watchUpstreamTls(options.upstream?.tls_files, (next) => {
    upstreamTls = next;
    // New connections get the new set; requests running on the old clients finish there.
    for (const inst of members) {
      if (!inst.url.startsWith('https:')) continue;
      for (const d of inst.dispatchers.values()) void d.close().catch(() => {});
      inst.dispatchers.clear();
    }
  });
  // LUASCALE_UPSTREAM_CLIENT=undici sets the default, so the whole suite can run on either client.
  const lean = (options.upstream?.client ?? process.env.LUASCALE_UPSTREAM_CLIENT ?? 'lean') === 'lean';
  const events = new EventEmitter();
  const byId = new Map<string, UpstreamInstance>();
  let members: UpstreamInstance[] = [];
  let eligibleList: UpstreamInstance[] = [];
  let ramping = 0;
  let probeTimer: NodeJS.Timeout | undefined;
  let closed = false;

  function recompute(): void {
    const before = eligibleList.length;
    eligibleList = members.filter((m) => m.state === 'ready' && isEligible(m.health));
    balancer.update(eligibleList);
    ramping = slowStart > 0 ? eligibleList.filter((m) => clock.now() - m.readyAt < slowStart).length : 0;
    if (ramping > 0) refreshWeights(clock.now());
    if (eligibleList.length !== before) options.onReadyChange?.(eligibleList.length);
  }

  // Envoy slow start: weight = max(min_weight, elapsed / window) (aggression 1).
  function refreshWeights(now: number): void {
    let still = 0;
    for (const m of eligibleList) {
      const elapsed = now - m.readyAt;
      if (elapsed >= slowStart) m.weight = 1;
      else {
        m.weight = Math.max(minWeight, elapsed / slowStart);
        still++;
      }
    }
    ramping = still;
  }

  function addInstance(spec: InstanceSpec): void {
    if (closed) return;
    const existing = byId.get(spec.id);
    if (existing && existing.url === spec.url && existing.state === 'ready') return;
    if (existing) retire(existing);
    const inst = new UpstreamInstance(spec, clock.now());
    byId.set(spec.id, inst);
    members = [...byId.values()];
    recompute();
  }

  function retire(inst: UpstreamInstance): void {
    inst.state = 'removed';
    if (inst.ejectTimer) clearTimeout(inst.ejectTimer);
    byId.delete(inst.id);
    options.onRemoved?.(inst.id);
    members = [...byId.values()];
    // close() lets queued and running requests finish, then closes sockets: no request lost.
    for (const d of inst.dispatchers.values()) void d.close().catch(() => {});
    for (const d of inst.lean.values()) void d.close();
  }

  function removeInstance(id: string): boolean {
    const inst = byId.get(id);
    if (!inst) return false;
    retire(inst);
    recompute();
    return true;
  }

  function setInstances(specs: readonly InstanceSpec[]): void {
    const keep = new Set(specs.map((s) => s.id));
    for (const inst of [...byId.values()]) if (!keep.has(inst.id)) retire(inst);
    for (const s of specs) addInstance(s);
    recompute();
  }

  function drain(id: string, timeoutMs: number): Promise<{ drained: boolean; inflight: number }> {
    const inst = byId.get(id);
    if (!inst) return Promise.resolve({ drained: true, inflight: 0 });
    inst.state = 'draining';
    recompute();
    if (inst.inflight === 0) return Promise.resolve({ drained: true, inflight: 0 });
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        inst.idleWaiters = inst.idleWaiters.filter((w) => w !== done);
        resolve({ drained: false, inflight: inst.inflight });
      }, timeoutMs);
      function done(): void {
        clearTimeout(timer);
        resolve({ drained: true, inflight: 0 });
      }
      inst.idleWaiters.push(done);
    });
  }

  function dispatcher(inst: UpstreamInstance, connectTimeout: number): Dispatcher {
    let d = inst.dispatchers.get(connectTimeout);
    if (d === undefined && protocol !== 'h1') {
      d = new H2Upstream(inst.url, { connectTimeout, tls: upstreamTls });
      inst.dispatchers.set(connectTimeout, d);
    } else if (d === undefined) {
      d = new Pool(inst.url, {
        connections,
        pipelining: 1,
        keepAliveTimeout: keepAlive,
        keepAliveMaxTimeout: keepAlive,
        connect: { timeout: connectTimeout, ...upstreamTls },
        // Timeouts are set per request by the gateway; these are the fallbacks.
        headersTimeout: 0,
        bodyTimeout: 0,
      });
      inst.dispatchers.set(connectTimeout, d);
    }
    return d;
  }

  function forwarder(inst: UpstreamInstance, connectTimeout: number): Forwarder {
    // TLS and HTTP/2 upstreams stay on undici / the HTTP/2 session.
    if (!lean || protocol !== 'h1' || inst.url.startsWith('https:')) return dispatcher(inst, connectTimeout);
    let d = inst.lean.get(connectTimeout);
    if (d === undefined) {
      d = new LeanPool({
        host: inst.hostname,
        port: inst.port,
        connections,
        keepAliveMs: keepAlive,
        connectTimeout,
      });
      inst.lean.set(connectTimeout, d);
    }
    return d;
  }

  function pick(ctx: PickContext, exclude?: UpstreamInstance): UpstreamInstance | undefined {
    if (ramping > 0) refreshWeights(ctx.now);
    const inst = balancer.pick(eligibleList, ctx, exclude) as UpstreamInstance | undefined;
    // Every connection of it busy: the request would wait inside undici, unseen by admission's
    // queue. Take another instance with room when the balancer offers one.
    if (inst !== undefined && inst.inflight >= connections && eligibleList.length > 1) {
      const other = balancer.pick(eligibleList, ctx, inst) as UpstreamInstance | undefined;
      if (other !== undefined && other.inflight < connections) return other;
    }
    return inst;
  }

  function begin(inst: UpstreamInstance): void {
    inst.inflight++;
  }

  function end(inst: UpstreamInstance, failure: boolean, rttMs: number | undefined, now: number): void {
    inst.inflight--;
    if (rttMs !== undefined) updatePeakEwma(inst, rttMs, now, decayMs);
    if (inst.state === 'removed') return;
    if (failure || inst.health.status !== 'healthy') observe(inst, !failure, now, false);
    if (inst.inflight === 0 && inst.idleWaiters.length) {
      const waiters = inst.idleWaiters;
      inst.idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  function observe(inst: UpstreamInstance, ok: boolean, now: number, isProbe: boolean): void {
    const ejected = members.filter((m) => m.health.status === 'ejected').length;
    const mayEject = ejected + 1 <= Math.max(1, Math.floor((members.length * maxEjectPct) / 100));
    const changed = recordOutcome(inst.health, ok, now, { ...thresholds, active: isProbe, mayEject });
    if (changed === undefined) return;
    if (changed === 'ejected') scheduleProbing(inst);
    if (changed === 'healthy' && slowStart > 0) inst.readyAt = now;
    recompute();
    events.emit('health', { service, instance: inst.id, status: changed } satisfies HealthEvent);
  }

  function scheduleProbing(inst: UpstreamInstance): void {
    if (inst.ejectTimer) clearTimeout(inst.ejectTimer);
    const wait = Math.max(0, inst.health.ejectedUntil - clock.now());
    inst.ejectTimer = setTimeout(() => {
      inst.ejectTimer = undefined;
      if (inst.state === 'removed' || closed) return;
      const changed = tickHealth(inst.health, clock.now());
      if (changed === undefined) return scheduleProbing(inst);
      // Recovering instances ramp up again, as new ones do.
      inst.readyAt = clock.now();
      recompute();
      events.emit('health', { service, instance: inst.id, status: changed } satisfies HealthEvent);
      if (active) void probe(inst);
    }, wait);
    inst.ejectTimer.unref();
  }

  async function probe(inst: UpstreamInstance): Promise<void> {
    const timeout = health.timeout ?? 1000;
    let ok = false;
    try {
      if (health.path === GRPC_HEALTH_PATH) return void observeProbe(inst, await grpcProbe(inst, timeout));
      const res = await dispatcher(inst, timeout).request({
        method: 'GET',
        path: health.path!,
        headersTimeout: timeout,
        bodyTimeout: timeout,
        headers: { 'user-agent': 'luascale-health' },
      });
      await res.body.dump();
      ok = res.statusCode >= 200 && res.statusCode < 400;
    } catch {
      ok = false;
    }
    observeProbe(inst, ok);
  }

  function observeProbe(inst: UpstreamInstance, ok: boolean): void {
    if (inst.state === 'removed' || closed) return;
    observe(inst, ok, clock.now(), true);
  }

  /** The standard gRPC health check (health.path /grpc.health.v1.Health/Check, grpc-health.ts). */
  function grpcProbe(inst: UpstreamInstance, timeout: number): Promise<boolean> {
    return grpcHealthCheck(dispatcher(inst, timeout), timeout).catch(() => false);
  }

  if (active) {
    probeTimer = setInterval(() => {
      for (const m of members) if (m.state !== 'removed' && m.health.status !== 'ejected') void probe(m);
    }, health.interval ?? 5000);
    probeTimer.unref();
  }

  async function close(): Promise<void> {
    closed = true;
    stopTlsWatch();
    if (probeTimer) clearInterval(probeTimer);
    const all = [...byId.values()];
    byId.clear();
    members = [];
    eligibleList = [];
    await Promise.all(
      all.flatMap((inst) => {
        if (inst.ejectTimer) clearTimeout(inst.ejectTimer);
        for (const d of inst.lean.values()) void d.destroy();
        return [...inst.dispatchers.values()].map((d) => d.destroy().catch(() => {}));
      }),
    );
  }

  return {
    service,
    protocol,
    events,
    eligible: () => eligibleList,
    all: () => members,
    pick,
    dispatcher,
    forwarder,
    setInstances,
    addInstance,
    removeInstance,
    drain,
    begin,
    end,
    close,
  };
}
