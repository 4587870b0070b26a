/**
 * The Provider interface: the controller owns it and providers implement it (Knative's
 * consumer-side interfaces). A provider turns "one more" / "this one less" into real instances.
 *
 * Instance lifecycle (one state machine for every provider):
 *
 *   starting ──ready probe passes──▶ ready ──drain(id)──▶ draining ──stop completes──▶ stopped
 *      │                               │                                              ▲
 *      │ exits / probe times out        │ exits unexpectedly (crash)                   │
 *      ▼                               ▼                                              │
 *    failed                          failed                 stop(id) from any live state
 *
 * `list()` returns live instances only (starting, ready, draining); an instance that reaches
 * stopped or failed leaves the list after its event is emitted. Events:
 * - `ready`: the health probe passed; the gateway may route to it (with slow start).
 * - `failed`: it never became ready (spawn error, exit while starting, start timeout) or it crashed.
 * - `exited`: its process ended, expectedly (after stop) or not (`expected: false`).
 * - `crashloop`: repeated crashes or failed spawns; replacements are backing off (the controller
 *   raises an alert).
 * - `sync`: listing the targets failed (or recovered); the last known targets are kept.
 */

/** Where an instance is in its life; see the state machine above. */
export type InstanceState = 'starting' | 'ready' | 'draining' | 'stopped' | 'failed';

/** One running (or recently running) copy of a service. */
export interface Instance {
  /** Stable id, e.g. `inst_3f9c2a7b1d`. */
  id: string;
  service: string;
  /** Base URL the gateway sends requests to, e.g. `http://127.0.0.1:41234`. */
  url: string;
  state: InstanceState;
  /** Wall-clock ms when it was launched (or first seen, for static targets). */
  startedAt: number;
  /** Wall-clock ms when it became ready. */
  readyAt?: number;
  /** Main process id (process provider). */
  pid?: number;
  /** Process group id: every process instance is its own group leader, so pgid === pid. */
  pgid?: number;
  port?: number;
  exitCode?: number | null;
  exitSignal?: string | null;
  /** Why it failed, in words. */
  failure?: string;
  /** True when it was taken over from a previous luascale run rather than launched by this one. */
  adopted?: boolean;
  /** Per-instance log file (process provider). */
  logFile?: string;
}

/** How an instance's process ended. */
export interface ExitInfo {
  code: number | null;
  signal: string | null;
  /** True when luascale asked it to stop; false for a crash. */
  expected: boolean;
  /** `luascale` when luascale itself killed it without a stop request (start timeout); `reason` says why. */
  killedBy?: 'luascale';
  reason?: string;
}

/** Emitted when crashes repeat: the next replacement waits `backoffMs`. */
export interface CrashLoopInfo {
  service: string;
  /** Consecutive crashes without an instance staying up for the reset period. */
  crashes: number;
  backoffMs: number;
  lastInstance: Instance;
}

/** Event name → listener signature. */
export interface ProviderEvents {
  ready: (instance: Instance) => void;
  /** A ready instance lost readiness (a failing readiness probe); `ready` follows when it recovers. */
  unready: (instance: Instance) => void;
  failed: (instance: Instance, reason: string) => void;
  exited: (instance: Instance, exit: ExitInfo) => void;
  crashloop: (info: CrashLoopInfo) => void;
  /**
   * The provider's view of its targets failed to refresh (exec `list_command`), or refreshed again
   * after failures: `ok: false` on each failure (the last known targets are kept and the list is
   * retried after `retryInMs`), `ok: true` once on recovery.
   */
  sync: (status: SyncStatus) => void;
}

/** See the `sync` event. */
export type SyncStatus = { ok: true } | { ok: false; message: string; failures: number; retryInMs: number };

/** Per-instance resource usage; CPU in percent of one core, memory in percent of the configured limit. */
export interface InstanceUsage {
  cpu: number;
  /** Absent when the provider knows no memory limit to relate the usage to (Kubernetes). */
  memory?: number;
  rssBytes: number;
}

/** Keeps the right instances of one service alive. */
export interface Provider {
  /** `process`, `static`, ... */
  readonly kind: string;
  readonly service: string;
  /** True when launch/stop only record advice and never change the targets (static). */
  readonly advisory: boolean;
  /** Live instances: starting, ready and draining. */
  list(): Instance[];
  /** Starts one instance; resolves once it is starting (a `ready` event follows). */
  launch(): Promise<Instance>;
  /** Stops new traffic to the instance and waits for in-flight requests (the gateway's drain). */
  drain(id: string): Promise<void>;
  /** Drains if needed, then stops the instance; resolves when its processes are gone. */
  stop(id: string): Promise<void>;
  /** Stops every instance and releases timers; idempotent. */
  close(): Promise<void>;
  /** Subscribes to an event; returns the unsubscribe function. */
  on<E extends keyof ProviderEvents>(event: E, listener: ProviderEvents[E]): () => void;
  // Optional capabilities: a provider offers each one or leaves it out; wrappers (the cluster's
  // fenced provider) forward every one the wrapped provider has. The contract suite
  // (test/providers/provider-contract.ts) tests each one a provider offers.
  /** Resource usage per instance id, sampled at `now` (monotonic ms); absent when not measurable. */
  usage?(now: number): Map<string, InstanceUsage>;
  /**
   * For a provider that samples usage in the background (Kubernetes' metrics API): resolves when
   * a sample taken at or after `now` is in, so the next usage() call sees it.
   */
  refreshUsage?(now: number): Promise<void>;
  /**
   * Instances the provider will start by itself (crash replacements waiting out a back-off); the
   * controller counts them as coming, so it does not launch duplicates.
   */
  pendingReplacements?(): number;
  /**
   * Takes over the instances a previous luascale run left running (from the instance store), and
   * stops the stale ones; called once at startup, before the first tick.
   */
  adopt?(): Promise<AdoptionReport>;
}

/** The optional capabilities of {@link Provider}, by name. */
export const PROVIDER_CAPABILITIES = ['usage', 'refreshUsage', 'pendingReplacements', 'adopt'] as const;

/** What `adopt()` did with each stored record. */
export interface AdoptionReport {
  adopted: Instance[];
  /** Ours but unhealthy (and not still starting) or only leftover group members: stopped. */
  stopped: InstanceRecord[];
  /** The pid is gone or now belongs to an unrelated process: record dropped, nothing signalled. */
  forgotten: InstanceRecord[];
  /** Resolves when the `stopped` ones are gone (they are stopped in parallel, in the background). */
  stopping?: Promise<void>;
}

/** What the instance store keeps per instance so a restarted luascale can adopt it. */
export interface InstanceRecord {
  id: string;
  service: string;
  pid: number;
  pgid: number;
  port: number;
  url: string;
  /** The exact argv it was started with; adoption compares it with /proc/<pid>/cmdline. */
  command: string[];
  /**
   * Hash of the whole launch spec (command, cwd, env, port variable, host, health path): adoption
   * rolls an instance whose spec changed. Absent in records of older versions (command compared).
   */
  specHash?: string;
  state: InstanceState;
  startedAt: number;
  readyAt?: number;
  logFile?: string;
}

/** Persistence for instance records (implemented by the SQLite store in src/store/). Sync or async. */
export interface InstanceStore {
  upsert(record: InstanceRecord): void | Promise<void>;
  list(service: string): InstanceRecord[] | Promise<InstanceRecord[]>;
  remove(id: string): void | Promise<void>;
}
