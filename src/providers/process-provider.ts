/**
 * The embedded default provider: runs N copies of a local command, each with its own free port.
 *
 * - Readiness: polls `http://host:port<healthPath>` until it answers 2xx (then `ready`), or fails
 *   the instance after `readiness.startTimeoutMs`.
 * - Scale-down (`stop`): state → draining, the gateway's `drainHook` (stop routing, wait for
 *   in-flight), SIGTERM to the whole process group, SIGKILL to the group after `stopGraceMs`.
 * - Crashes: an unexpected exit emits `failed` + `exited`; the provider launches a replacement after
 *   a back-off (see crash-backoff.ts) and emits `crashloop` when crashes repeat.
 * - Process groups: every instance is spawned `detached`, so it leads its own group (pgid = pid) and
 *   `kill(-pgid)` reaches everything it started; a crash of luascale orphans nothing we cannot find.
 * - Logs: stdout and stderr go straight into `<logDir>/<service>/<id>.log` (rotating-log.ts).
 * - Adoption: `adopt()` takes over the live, matching, healthy instances in the instance store (left
 *   by a previous luascale run) and stops the rest, so a restart never duplicates or orphans.
 *
 * State machine: see src/controller/provider.ts. Lifecycle timers run on real time (this is the IO
 * shell); the ages and timeouts they compare are read from the injected clock.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { totalmem, tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { LuascaleError } from '../core/errors.js';
import { systemClock, type Clock } from '../core/clock.js';
import { newId } from '../core/ids.js';
import type {
  AdoptionReport,
  ExitInfo,
  Instance,
  InstanceRecord,
  InstanceStore,
  InstanceUsage,
  Provider,
  ProviderEvents,
} from '../controller/provider.js';
import { DEFAULT_CRASH_BACKOFF, onCrash, type CrashBackoffOptions } from './crash-backoff.js';
import { freePort } from './free-port.js';
import { probeHealth } from './health-probe.js';
import { Listeners } from './listeners.js';
import {
  cpuPercent,
  groupMembers,
  readAllProcStats,
  readCmdline,
  readProcStat,
  readRssBytes,
  type UsageSample,
} from './proc-stat.js';
import { closeQuietly, openLogFd, rotateLogIfNeeded } from './rotating-log.js';

/** The environment variable every instance gets with its own id; adoption checks it in /proc/<pid>/environ. */
export const INSTANCE_ID_ENV = 'LUASCALE_INSTANCE_ID';

/** Options of {@link ProcessProvider}. */
export interface ProcessProviderOptions {
  service: string;
  /** argv of one instance, e.g. `['node', 'server.mjs']`; no shell is involved. */
  command: string[];
  cwd?: string;
  /** Added to luascale's own environment. */
  env?: Record<string, string>;
  /** Variable that receives the instance's port. Default `PORT`. */
  portEnv?: string;
  /** Address instances listen on and are probed at. Default `127.0.0.1`. */
  host?: string;
  /** Default `/healthz`. */
  healthPath?: string;
  readiness?: {
    /** Between probes while starting. Default 100 ms. */
    intervalMs?: number;
    /** Per probe. Default 1000 ms. */
    timeoutMs?: number;
    /** Fail the instance when not ready by then. Default 30 s. */
    startTimeoutMs?: number;
  };
  /** SIGTERM → SIGKILL grace. Default 10 s. */
  stopGraceMs?: number;
  /** Longest wait for `drainHook`; the stop goes on after it. Default 30 s. */
  drainTimeoutMs?: number;
  /** Default `<tmpdir>/luascale-logs`. Files are `<logDir>/<service>/<id>.log`. */
  logDir?: string;
  /** Rotate a log above this size. Default 10 MiB. */
  logMaxBytes?: number;
  /** Rotated copies kept. Default 3. */
  logFiles?: number;
  /** The gateway's drain: stop new requests to the instance and wait for in-flight ones. */
  drainHook?: (instance: Instance) => Promise<void>;
  instanceStore?: InstanceStore;
  clock?: Clock;
  /** Launch a replacement when an instance crashes. Default true. */
  replaceCrashed?: boolean;
  crashBackoff?: Partial<CrashBackoffOptions>;
  /** Memory percent is RSS over this. Default: total system memory. */
  memoryLimitBytes?: number;
  /** Period of the liveness check of adopted instances and of log rotation. Default 1000 ms. */
  housekeepingMs?: number;
  /** Where failures of the store, the drain hook and signals are reported. Default: stderr. */
  onError?: (err: unknown, context: string) => void;
}

interface Slot {
  instance: Instance;
  command: string[];
  child?: ChildProcess;
  /** Monotonic start and ready times, for the start timeout and the crash back-off reset. */
  startedMono: number;
  readyMono?: number;
  stopping: boolean;
  /** Set when luascale itself decided the instance failed (start timeout). */
  failure?: string;
  exited: Promise<ExitInfo>;
  resolveExit: (exit: ExitInfo) => void;
  done: boolean;
  drainPromise?: Promise<void>;
  stopPromise?: Promise<void>;
}

interface PendingReplacement {
  timer: NodeJS.Timeout;
  claimed: boolean;
  promise: Promise<Instance>;
  resolve: (instance: Instance) => void;
  reject: (err: unknown) => void;
}

/** Runs a service as local child processes; implements the controller's {@link Provider}. */
export class ProcessProvider implements Provider {
  readonly kind = 'process';
  readonly advisory = false;
  readonly service: string;

  readonly #o: Required<
    Omit<ProcessProviderOptions, 'cwd' | 'drainHook' | 'instanceStore' | 'readiness' | 'crashBackoff'>
  > &
    Pick<ProcessProviderOptions, 'cwd' | 'drainHook' | 'instanceStore'>;
  readonly #readiness: { intervalMs: number; timeoutMs: number; startTimeoutMs: number };
  readonly #backoff: CrashBackoffOptions;
  readonly #events = new Listeners<ProviderEvents>();
  readonly #slots = new Map<string, Slot>();
  readonly #pending: PendingReplacement[] = [];
  readonly #samples = new Map<string, UsageSample>();
  #crashes = 0;
  #closed = false;
  #closePromise?: Promise<void>;
  #housekeeping?: NodeJS.Timeout;
  #storeChain: Promise<void> = Promise.resolve();
  /** Store writes started or queued and not yet settled. */
  #storeBusy = 0;

  constructor(options: ProcessProviderOptions) {
    if (
      !Array.isArray(options.command) ||
      options.command.length === 0 ||
      options.command.some((a) => typeof a !== 'string')
    ) {
      throw new LuascaleError('LS_ERR_PROVIDER_LAUNCH', {
        service: options.service,
        reason: 'command must be a non-empty array of strings',
      });
    }
    this.service = options.service;
    this.#o = {
      service: options.service,
      command: [...options.command],
      cwd: options.cwd,
      env: options.env ?? {},
      portEnv: options.portEnv ?? 'PORT',
      host: options.host ?? '127.0.0.1',
      healthPath: options.healthPath ?? '/healthz',
      stopGraceMs: options.stopGraceMs ?? 10_000,
      drainTimeoutMs: options.drainTimeoutMs ?? 30_000,
      logDir: options.logDir ?? join(tmpdir(), 'luascale-logs'),
      logMaxBytes: options.logMaxBytes ?? 10 * 1024 * 1024,
      logFiles: options.logFiles ?? 3,
      drainHook: options.drainHook,
      instanceStore: options.instanceStore,
      clock: options.clock ?? systemClock,
      replaceCrashed: options.replaceCrashed ?? true,
      memoryLimitBytes: options.memoryLimitBytes ?? totalmem(),
      housekeepingMs: options.housekeepingMs ?? 1000,
      onError:
        options.onError ??
        ((err, context) =>
          process.stderr.write(`luascale: ${this.service}: ${context}: ${(err as Error)?.message ?? err}\n`)),
    };
    this.#readiness = {
      intervalMs: options.readiness?.intervalMs ?? 100,
      timeoutMs: options.readiness?.timeoutMs ?? 1000,
      startTimeoutMs: options.readiness?.startTimeoutMs ?? 30_000,
    };
    this.#backoff = { ...DEFAULT_CRASH_BACKOFF, ...options.crashBackoff };
    this.#housekeeping = setInterval(() => this.#housekeep(), this.#o.housekeepingMs);
    this.#housekeeping.unref();
  }

  /** Live instances (starting, ready, draining), as copies. */
  list(): Instance[] {
    return [...this.#slots.values()].map((s) => ({ ...s.instance }));
  }

  /** Replacements waiting out their crash back-off (the controller may count them as instances). */
  pendingReplacements(): number {
    return this.#pending.filter((p) => !p.claimed).length;
  }

  /** Subscribes to `ready`, `failed`, `exited` or `crashloop`. */
  on<E extends keyof ProviderEvents>(event: E, listener: ProviderEvents[E]): () => void {
    return this.#events.on(event, listener);
  }

  /**
   * Starts one instance and resolves when its process is running (state `starting`). A replacement
   * waiting out its back-off is claimed instead, so a controller asking for "one more" after a
   * crash does not start a duplicate and does not skip the back-off.
   */
  launch(): Promise<Instance> {
    if (this.#closed) {
      return Promise.reject(
        new LuascaleError('LS_ERR_PROVIDER_LAUNCH', { service: this.service, reason: 'provider is closed' }),
      );
    }
    const pending = this.#pending.find((p) => !p.claimed);
    if (pending) {
      pending.claimed = true;
      return pending.promise;
    }
    return this.#spawn();
  }

  /** Marks the instance draining and runs the gateway's drain hook once (later calls share it). */
  drain(id: string): Promise<void> {
    const slot = this.#slots.get(id);
    if (!slot) return Promise.reject(this.#unknown(id));
    if (!slot.drainPromise) {
      if (slot.instance.state === 'ready' || slot.instance.state === 'starting')
        slot.instance.state = 'draining';
      this.#persist(slot);
      slot.drainPromise = this.#runDrainHook(slot);
    }
    return slot.drainPromise;
  }

  /** Drains (if it was ready), then SIGTERM to the group, then SIGKILL after the grace period. */
  stop(id: string): Promise<void> {
    const slot = this.#slots.get(id);
    if (!slot) return Promise.reject(this.#unknown(id));
    slot.stopPromise ??= this.#stop(slot);
    return slot.stopPromise;
  }

  /** Stops every instance, cancels pending replacements and timers. Idempotent. */
  close(): Promise<void> {
    this.#closePromise ??= (async () => {
      this.#closed = true;
      clearInterval(this.#housekeeping);
      for (const p of this.#pending.splice(0)) {
        clearTimeout(p.timer);
        p.reject(
          new LuascaleError('LS_ERR_PROVIDER_LAUNCH', { service: this.service, reason: 'provider closed' }),
        );
      }
      await Promise.all(
        [...this.#slots.keys()].map((id) => this.stop(id).catch((err) => this.#o.onError(err, `stop ${id}`))),
      );
      await this.#storeChain;
    })();
    return this.#closePromise;
  }

  /**
   * Forgets every instance without stopping it (the instances keep running in their own process
   * groups and stay in the store), as a luascale that exits for an upgrade would; a new provider
   * then adopts them.
   */
  async detach(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#housekeeping);
    for (const p of this.#pending.splice(0)) clearTimeout(p.timer);
    for (const slot of this.#slots.values()) {
      slot.child?.removeAllListeners('exit');
      slot.child?.unref();
      slot.done = true;
    }
    this.#slots.clear();
    await this.#storeChain;
  }

  /**
   * Takes over the instances a previous luascale run left in the store. A record is adopted when
   * its pid is alive, leads the recorded process group, is ours (its environ carries our instance
   * id, or its /proc cmdline matches the recorded command), still runs the configured command and
   * passes a health probe. Ours-but-not-adoptable instances are stopped (group SIGTERM, then
   * SIGKILL); records whose pid is gone or belongs to someone else are dropped.
   */
  async adopt(): Promise<AdoptionReport> {
    const report: AdoptionReport = { adopted: [], stopped: [], forgotten: [] };
    const store = this.#o.instanceStore;
    if (!store || this.#closed) return report;
    const records = await store.list(this.service);
    const seenPids = new Set<number>([...this.#slots.values()].map((s) => s.instance.pid ?? -1));
    const seenIds = new Set<string>(this.#slots.keys());
    for (const record of records) {
      if (record.service !== this.service) continue;
      if (seenIds.has(record.id) || seenPids.has(record.pid)) {
        if (!seenIds.has(record.id)) {
          report.forgotten.push(record);
          await store.remove(record.id);
        }
        continue;
      }
      seenIds.add(record.id);
      const verdict = classifyRecord(record);
      if (verdict === 'gone') {
        // The leader is gone; any members left in its group are orphans of ours: kill them.
        signalGroup(record.pgid, 'SIGKILL');
        (groupExists(record.pgid) ? report.stopped : report.forgotten).push(record);
        await store.remove(record.id);
        continue;
      }
      if (verdict === 'foreign') {
        report.forgotten.push(record);
        await store.remove(record.id);
        continue;
      }
      const current = sameArgv(record.command, this.#o.command);
      const healthy =
        current && (await probeHealth(`${record.url}${this.#o.healthPath}`, this.#readiness.timeoutMs));
      if (!healthy) {
        await stopGroup(record.pid, record.pgid, this.#o.stopGraceMs);
        report.stopped.push(record);
        await store.remove(record.id);
        continue;
      }
      seenPids.add(record.pid);
      const slot = this.#newSlot(
        {
          id: record.id,
          service: this.service,
          url: record.url,
          state: 'ready',
          startedAt: record.startedAt,
          readyAt: record.readyAt ?? this.#o.clock.wallNow(),
          pid: record.pid,
          pgid: record.pgid,
          port: record.port,
          adopted: true,
          logFile: record.logFile,
        },
        record.command,
      );
      slot.readyMono = this.#o.clock.now();
      this.#slots.set(record.id, slot);
      this.#persist(slot);
      report.adopted.push({ ...slot.instance });
      this.#events.emit('ready', { ...slot.instance });
    }
    return report;
  }

  /**
   * CPU (percent of one core) and memory (percent of `memoryLimitBytes`) per instance, summed over
   * the instance's whole process group (a wrapper shell and its workers count together), from one
   * scan of /proc. CPU is the tick delta since the previous call; the first call reports 0.
   */
  usage(now: number): Map<string, InstanceUsage> {
    const out = new Map<string, InstanceUsage>();
    if (this.#slots.size === 0) return out;
    const all = readAllProcStats();
    for (const [id, slot] of this.#slots) {
      const pgid = slot.instance.pgid;
      if (pgid === undefined) continue;
      const members = all.filter((s) => s.pgid === pgid);
      if (members.length === 0) continue;
      const sample: UsageSample = {
        at: now,
        cpuTicks: members.reduce((sum, m) => sum + m.cpuTicks, 0),
        rssBytes: members.reduce((sum, m) => sum + (readRssBytes(m.pid) ?? 0), 0),
      };
      out.set(id, {
        cpu: cpuPercent(this.#samples.get(id), sample),
        memory: (sample.rssBytes / this.#o.memoryLimitBytes) * 100,
        rssBytes: sample.rssBytes,
      });
      this.#samples.set(id, sample);
    }
    for (const id of this.#samples.keys()) if (!this.#slots.has(id)) this.#samples.delete(id);
    return out;
  }

  /** Rotates every instance log that is over `logMaxBytes`; returns how many rotated (also runs on a timer). */
  rotateLogs(): number {
    let rotated = 0;
    for (const slot of this.#slots.values()) {
      const file = slot.instance.logFile;
      if (!file) continue;
      try {
        if (rotateLogIfNeeded(file, this.#o.logMaxBytes, this.#o.logFiles)) rotated++;
      } catch (err) {
        this.#o.onError(err, `rotate ${file}`);
      }
    }
    return rotated;
  }

  // ---- internals ----

  #unknown(id: string): LuascaleError {
    return new LuascaleError('LS_ERR_PROVIDER_COMMAND', {
      service: this.service,
      reason: `no live instance ${id}`,
    });
  }

  #newSlot(instance: Instance, command: string[]): Slot {
    let resolveExit!: (exit: ExitInfo) => void;
    const exited = new Promise<ExitInfo>((resolve) => (resolveExit = resolve));
    return {
      instance,
      command,
      startedMono: this.#o.clock.now(),
      stopping: false,
      exited,
      resolveExit,
      done: false,
    };
  }

  async #spawn(): Promise<Instance> {
    const o = this.#o;
    const port = await freePort(o.host);
    // close() may have run while we waited: starting now would leave an instance nobody stops.
    if (this.#closed)
      throw new LuascaleError('LS_ERR_PROVIDER_LAUNCH', { service: o.service, reason: 'provider is closed' });
    const id = newId('inst');
    const logFile = join(o.logDir, o.service, `${id}.log`);
    let fd: number;
    try {
      fd = openLogFd(logFile);
    } catch (err) {
      throw new LuascaleError(
        'LS_ERR_PROVIDER_LAUNCH',
        { service: o.service, reason: `cannot open log ${logFile}: ${(err as Error).message}` },
        { cause: err },
      );
    }
    let child: ChildProcess;
    try {
      child = spawn(o.command[0]!, o.command.slice(1), {
        cwd: o.cwd,
        env: { ...process.env, ...o.env, [o.portEnv]: String(port), [INSTANCE_ID_ENV]: id },
        // Own process group (setsid): kill(-pgid) reaches its children, and it outlives a luascale crash.
        detached: true,
        stdio: ['ignore', fd, fd],
      });
    } catch (err) {
      closeQuietly(fd);
      throw new LuascaleError(
        'LS_ERR_PROVIDER_LAUNCH',
        { service: o.service, reason: (err as Error).message },
        { cause: err },
      );
    }
    // The child has its own copy of the fd; ours is not needed (and would leak one per instance).
    closeQuietly(fd);
    if (child.pid === undefined) {
      const err = await new Promise<Error>((resolve) => child.once('error', resolve));
      const instance: Instance = {
        id,
        service: o.service,
        url: `http://${o.host}:${port}`,
        state: 'failed',
        startedAt: o.clock.wallNow(),
        port,
        failure: err.message,
        logFile,
      };
      this.#events.emit('failed', instance, err.message);
      throw new LuascaleError(
        'LS_ERR_PROVIDER_LAUNCH',
        { service: o.service, reason: `${o.command[0]}: ${err.message}` },
        { cause: err },
      );
    }
    child.on('error', (err) => o.onError(err, `instance ${id}`));
    const slot = this.#newSlot(
      {
        id,
        service: o.service,
        url: `http://${o.host}:${port}`,
        state: 'starting',
        startedAt: o.clock.wallNow(),
        pid: child.pid,
        pgid: child.pid,
        port,
        logFile,
      },
      o.command,
    );
    slot.child = child;
    this.#slots.set(id, slot);
    this.#persist(slot);
    child.once('exit', (code, signal) => this.#onExit(slot, code, signal));
    void this.#awaitReady(slot);
    return { ...slot.instance };
  }

  async #awaitReady(slot: Slot): Promise<void> {
    const r = this.#readiness;
    const url = `${slot.instance.url}${this.#o.healthPath}`;
    while (!slot.done && slot.instance.state === 'starting' && !slot.stopping) {
      if (await probeHealth(url, r.timeoutMs)) {
        if (slot.done || slot.instance.state !== 'starting' || slot.stopping) return;
        slot.instance.state = 'ready';
        slot.instance.readyAt = this.#o.clock.wallNow();
        slot.readyMono = this.#o.clock.now();
        this.#persist(slot);
        this.#events.emit('ready', { ...slot.instance });
        return;
      }
      if (slot.done || slot.stopping) return;
      if (this.#o.clock.now() - slot.startedMono >= r.startTimeoutMs) {
        slot.failure = `not ready within ${r.startTimeoutMs} ms (${url})`;
        signalGroup(slot.instance.pgid!, 'SIGKILL');
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, r.intervalMs));
    }
  }

  #onExit(slot: Slot, code: number | null, signal: NodeJS.Signals | null): void {
    if (slot.done) return;
    slot.done = true;
    const i = slot.instance;
    i.exitCode = code;
    i.exitSignal = signal;
    const expected = slot.stopping;
    if (!expected && i.pgid !== undefined) {
      // The leader is gone unasked: take whatever it left in its group with it.
      signalGroup(i.pgid, 'SIGKILL');
    }
    this.#slots.delete(i.id);
    this.#unpersist(i.id);
    const exit: ExitInfo = { code, signal, expected };
    slot.resolveExit(exit);
    if (expected) {
      i.state = 'stopped';
      this.#events.emit('exited', { ...i }, exit);
      return;
    }
    const reason = slot.failure ?? (signal ? `killed by ${signal}` : `exited with code ${code}`);
    const wasDraining = i.state === 'draining';
    i.state = 'failed';
    i.failure = reason;
    this.#events.emit('failed', { ...i }, reason);
    this.#events.emit('exited', { ...i }, exit);
    // A draining instance was on its way out: its death is reported but not replaced.
    if (!wasDraining) this.#crashed(slot);
  }

  #crashed(slot: Slot | undefined): void {
    const now = this.#o.clock.now();
    const readyFor = slot?.readyMono === undefined ? 0 : now - slot.readyMono;
    const verdict = onCrash(this.#crashes, readyFor, this.#backoff);
    this.#crashes = verdict.crashes;
    if (verdict.crashLoop && slot) {
      this.#events.emit('crashloop', {
        service: this.service,
        crashes: verdict.crashes,
        backoffMs: verdict.delayMs,
        lastInstance: { ...slot.instance },
      });
    }
    if (this.#o.replaceCrashed && !this.#closed) this.#scheduleReplacement(verdict.delayMs);
  }

  #scheduleReplacement(delayMs: number): void {
    let resolve!: (i: Instance) => void;
    let reject!: (e: unknown) => void;
    const promise = new Promise<Instance>((res, rej) => ((resolve = res), (reject = rej)));
    promise.catch(() => {}); // an unclaimed replacement that fails is reported below, not as unhandled
    const pending: PendingReplacement = {
      timer: undefined as unknown as NodeJS.Timeout,
      claimed: false,
      promise,
      resolve,
      reject,
    };
    pending.timer = setTimeout(() => {
      const at = this.#pending.indexOf(pending);
      if (at >= 0) this.#pending.splice(at, 1);
      if (this.#closed) return;
      this.#spawn().then(resolve, (err) => {
        reject(err);
        this.#o.onError(err, 'replacement launch');
        this.#crashed(undefined);
      });
    }, delayMs);
    this.#pending.push(pending);
  }

  async #runDrainHook(slot: Slot): Promise<void> {
    const hook = this.#o.drainHook;
    if (!hook) return;
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        hook({ ...slot.instance }),
        new Promise((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`drain hook did not finish within ${this.#o.drainTimeoutMs} ms`)),
            this.#o.drainTimeoutMs,
          );
        }),
      ]);
    } catch (err) {
      this.#o.onError(err, `drain ${slot.instance.id}`);
    } finally {
      clearTimeout(timer);
    }
  }

  async #stop(slot: Slot): Promise<void> {
    const i = slot.instance;
    // From here on an exit is expected, even one that happens during the drain.
    slot.stopping = true;
    // An instance still starting has had no traffic: nothing to drain.
    if (i.state === 'ready' || i.state === 'draining') await this.drain(i.id);
    if (slot.done) return;
    const pgid = i.pgid!;
    if (!slot.child) {
      // Adopted: no child handle, so no exit event; poll /proc for the leader instead.
      await stopGroup(i.pid!, pgid, this.#o.stopGraceMs);
      this.#onExit(slot, null, null);
      return;
    }
    signalGroup(pgid, 'SIGTERM');
    const graceful = await waitUntil(() => slot.done && !groupExists(pgid), this.#o.stopGraceMs);
    if (!graceful) {
      signalGroup(pgid, 'SIGKILL');
      // SIGKILL cannot be caught, but delivery and exit take a moment: resolve once the group is empty.
      await waitUntil(() => !groupExists(pgid), 2000);
    }
    await slot.exited;
  }

  #housekeep(): void {
    for (const slot of [...this.#slots.values()]) {
      // Adopted instances have no exit event: notice their death here.
      if (
        !slot.child &&
        !slot.stopping &&
        !slot.done &&
        !leaderAlive(slot.instance.pid!, slot.instance.pgid!)
      ) {
        this.#onExit(slot, null, null);
      }
    }
    this.rotateLogs();
  }

  #persist(slot: Slot): void {
    const store = this.#o.instanceStore;
    if (!store) return;
    const i = slot.instance;
    const record: InstanceRecord = {
      id: i.id,
      service: i.service,
      pid: i.pid!,
      pgid: i.pgid!,
      port: i.port!,
      url: i.url,
      command: slot.command,
      state: i.state,
      startedAt: i.startedAt,
      ...(i.readyAt !== undefined ? { readyAt: i.readyAt } : {}),
      ...(i.logFile !== undefined ? { logFile: i.logFile } : {}),
    };
    this.#chain(() => store.upsert(record), `store upsert ${i.id}`);
  }

  #unpersist(id: string): void {
    const store = this.#o.instanceStore;
    if (store) this.#chain(() => store.remove(id), `store remove ${id}`);
  }

  /**
   * Store writes run in order (an async store must not see remove before upsert). A synchronous
   * store (SQLite) is written at once when nothing is queued, so a record is durable before
   * launch() returns and a kill -9 right after cannot orphan the instance.
   */
  #chain(write: () => void | Promise<void>, context: string): void {
    const run = (): void | Promise<void> => {
      try {
        return write();
      } catch (err) {
        this.#o.onError(err, context);
      }
    };
    const settle = (p: Promise<void>) =>
      p.catch((err) => this.#o.onError(err, context)).finally(() => void this.#storeBusy--);
    if (this.#storeBusy === 0) {
      const result = run();
      if (!(result instanceof Promise)) return;
      this.#storeBusy++;
      this.#storeChain = settle(result);
      return;
    }
    this.#storeBusy++;
    this.#storeChain = settle(this.#storeChain.then(run));
  }
}

/** alive-and-ours / pid gone / pid reused by someone else. */
function classifyRecord(record: InstanceRecord): 'ours' | 'gone' | 'foreign' {
  const stat = readProcStat(record.pid);
  if (!stat || stat.state === 'Z' || stat.state === 'X') return 'gone';
  if (stat.pgid !== record.pgid) return 'foreign';
  if (readEnviron(record.pid)?.includes(`${INSTANCE_ID_ENV}=${record.id}`)) return 'ours';
  const cmdline = readCmdline(record.pid);
  return cmdline && cmdlineMatches(cmdline, record.command) ? 'ours' : 'foreign';
}

/**
 * Whether a /proc cmdline is the recorded command: equal, or (an interpreter exec'd through a
 * shebang or `env`) the same arguments after an argv[0] with the same base name.
 */
export function cmdlineMatches(cmdline: readonly string[], command: readonly string[]): boolean {
  if (sameArgv(cmdline, command)) return true;
  const args = command.slice(1);
  const tail = cmdline.slice(cmdline.length - args.length);
  if (cmdline.length <= args.length || !sameArgv(tail, args)) return false;
  const head = cmdline.slice(0, cmdline.length - args.length).map((a) => basename(a));
  return head.includes(basename(command[0] ?? ''));
}

function sameArgv(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function readEnviron(pid: number): string[] | undefined {
  try {
    return readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
  } catch {
    return undefined;
  }
}

/** kill(-pgid, signal), ignoring "no such group". */
function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // ESRCH: the group is already gone.
  }
}

/**
 * True while a live (non-zombie) process of the group exists. Read from /proc rather than
 * kill(-pgid, 0), which also counts zombies that an init without reaping would leave behind.
 */
export function groupExists(pgid: number): boolean {
  return groupMembers(pgid).length > 0;
}

/** Polls `done` every 20 ms until it holds or `timeoutMs` passes; resolves whether it held. */
async function waitUntil(done: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  while (!done()) {
    if (performance.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return true;
}

/** The pid runs (not a zombie an unreaping init keeps around) and still leads `pgid`. */
function leaderAlive(pid: number, pgid: number): boolean {
  const stat = readProcStat(pid);
  return stat !== undefined && stat.pgid === pgid && stat.state !== 'Z' && stat.state !== 'X';
}

/** SIGTERM to a group we do not parent, SIGKILL after the grace; resolves when the leader is gone. */
async function stopGroup(pid: number, pgid: number, graceMs: number): Promise<void> {
  signalGroup(pgid, 'SIGTERM');
  const alive = () => leaderAlive(pid, pgid);
  if (!(await waitUntil(() => !alive() && !groupExists(pgid), graceMs))) signalGroup(pgid, 'SIGKILL');
  await waitUntil(() => !alive(), 5000);
}
