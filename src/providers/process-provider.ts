/**
 * The embedded default provider: runs N copies of a local command, each with its own free port.
 *
 * - Readiness: polls `http://host:port<healthPath>` until it answers 2xx (then `ready`), or fails
 *   the instance after `readiness.startTimeoutMs`.
 * - Scale-down (`stop`): state → draining, the gateway's `drainHook` (stop routing, wait for
 *   in-flight), SIGTERM to the whole process group, SIGKILL to the group after `stopGraceMs`.
 * - Crashes: an unexpected exit emits `failed` + `exited`; the provider launches a replacement after
 *   a back-off (crash-tracker.ts, crash-backoff.ts) and emits `crashloop` when crashes repeat.
 * - Process groups: every instance is spawned `detached`, so it leads its own group (pgid = pid) and
 *   `kill(-pgid)` reaches everything it started; a crash of luascale orphans nothing we cannot find.
 * - Logs: stdout and stderr go straight into `<logDir>/<service>/<id>.log` (rotating-log.ts).
 * - Adoption: `adopt()` takes over the live, healthy instances in the instance store (left by a
 *   previous luascale run) and those still starting, rolls the ones whose launch spec changed
 *   (start new, then drain old) and stops the rest in the background, so a restart never
 *   duplicates or orphans and is not held up.
 *
 * Parts: options and defaults (process-provider-options.ts), spawning (spawn-instance-process.ts),
 * process groups in /proc (process-groups.ts), adoption (adopt-records.ts, adopted-slot.ts,
 * roll-outdated.ts), crash replacements (pending-replacements.ts), usage (group-usage.ts), ordered
 * store writes (ordered-writes.ts), draining (run-drain-hook.ts), log rotation (rotate-instance-logs.ts).
 *
 * State machine: see src/controller/provider.ts. Lifecycle timers run on real time (this is the IO
 * shell); the ages and timeouts they compare are read from the injected clock.
 */
import { join } from 'node:path';
import { LuascaleError } from '../core/errors.js';
import { newId } from '../core/ids.js';
import type {
  AdoptionReport,
  ExitInfo,
  Instance,
  InstanceUsage,
  Provider,
  ProviderEvents,
} from '../controller/provider.js';
import { adoptRecords } from './adopt-records.js';
import { CrashTracker } from './crash-tracker.js';
import { freePort } from './free-port.js';
import { describeProbe, probeHealth, type ProbeResult } from './health-probe.js';
import { Listeners } from './listeners.js';
import { OrderedWrites } from './ordered-writes.js';
import { PendingReplacements } from './pending-replacements.js';
import { groupUsage } from './group-usage.js';
import type { UsageSample } from './proc-stat.js';
import { INSTANCE_ID_ENV, leaderAlive, signalGroup } from './process-groups.js';
import {
  launchSpecHash,
  resolveProcessProviderOptions,
  type ProcessProviderOptions,
  type ReadinessTimes,
  type ResolvedProcessOptions,
} from './process-provider-options.js';
import { rotateInstanceLogs } from './rotate-instance-logs.js';
import { rollOutdated } from './roll-outdated.js';
import { runDrainHook } from './run-drain-hook.js';
import { adoptedSlot } from './adopted-slot.js';
import { newSlot, slotRecord, type Slot } from './instance-slot.js';
import { spawnInstanceProcess } from './spawn-instance-process.js';
import { terminateInstance } from './terminate-instance.js';

export { INSTANCE_ID_ENV, cmdlineMatches, groupExists } from './process-groups.js';
export type { ProcessProviderOptions } from './process-provider-options.js';

/** Runs a service as local child processes; implements the controller's {@link Provider}. */
export class ProcessProvider implements Provider {
  readonly kind = 'process';
  readonly advisory = false;
  readonly service: string;

  readonly #o: ResolvedProcessOptions;
  readonly #readiness: ReadinessTimes;
  readonly #writes: OrderedWrites;
  readonly #events = new Listeners<ProviderEvents>();
  readonly #slots = new Map<string, Slot>();
  readonly #pending = new PendingReplacements();
  readonly #samples = new Map<string, UsageSample>();
  readonly #rotating = new Set<string>();
  /** Background work close() waits for: stale instances being stopped, rolls. */
  readonly #background = new Set<Promise<void>>();
  readonly #specHash: string;
  readonly #crash: CrashTracker;
  #closed = false;
  #closePromise?: Promise<void>;
  #housekeeping?: NodeJS.Timeout;

  constructor(options: ProcessProviderOptions) {
    const resolved = resolveProcessProviderOptions(options);
    this.service = options.service;
    this.#o = resolved.options;
    this.#readiness = resolved.readiness;
    this.#crash = new CrashTracker({
      service: this.service,
      backoff: resolved.backoff,
      replaceCrashed: this.#o.replaceCrashed,
      events: this.#events,
      pending: this.#pending,
      spawn: () => this.#spawn(),
      closed: () => this.#closed,
      wallNow: () => this.#o.clock.wallNow(),
      onError: this.#o.onError,
    });
    this.#writes = new OrderedWrites(this.#o.onError);
    this.#specHash = launchSpecHash(this.#o);
    this.#housekeeping = setInterval(() => this.#housekeep(), this.#o.housekeepingMs);
    this.#housekeeping.unref();
  }

  /** Live instances (starting, ready, draining), as copies; a roll's replacement shows once ready. */
  list(): Instance[] {
    return [...this.#slots.values()]
      .filter((s) => !(s.replaces && s.instance.state === 'starting'))
      .map((s) => ({ ...s.instance }));
  }

  /** Replacements waiting out their crash back-off (the controller may count them as instances). */
  pendingReplacements(): number {
    return this.#pending.unclaimed();
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
    return this.#pending.claim() ?? this.#spawn();
  }

  /** Marks the instance draining and runs the gateway's drain hook once (later calls share it). */
  drain(id: string): Promise<void> {
    const slot = this.#slots.get(id);
    if (!slot) return Promise.reject(this.#unknown(id));
    if (!slot.drainPromise) {
      if (slot.instance.state === 'ready' || slot.instance.state === 'starting')
        slot.instance.state = 'draining';
      this.#persist(slot);
      const o = this.#o;
      slot.drainPromise = runDrainHook(slot.instance, {
        hook: o.drainHook,
        timeoutMs: o.drainTimeoutMs,
        onError: o.onError,
      });
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
      this.#pending.cancelAll(
        () =>
          new LuascaleError('LS_ERR_PROVIDER_LAUNCH', { service: this.service, reason: 'provider closed' }),
      );
      await Promise.all(
        [...this.#slots.keys()].map((id) => this.stop(id).catch((err) => this.#o.onError(err, `stop ${id}`))),
      );
      await Promise.all(this.#background);
      await this.#writes.settled();
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
    this.#pending.cancelAll();
    for (const slot of this.#slots.values()) {
      slot.child?.removeAllListeners('exit');
      slot.child?.unref();
      slot.done = true;
    }
    this.#slots.clear();
    await this.#writes.settled();
  }

  /**
   * Takes over the instances a previous luascale run left in the store (see adopt-records.ts):
   * healthy ones as `ready`, ones still starting within their start timeout as `starting`; those
   * whose launch spec changed are then rolled (roll-outdated.ts); stale ones are stopped in the background
   * (`report.stopping`).
   */
  async adopt(): Promise<AdoptionReport> {
    const store = this.#o.instanceStore;
    if (!store || this.#closed) return { adopted: [], stopped: [], forgotten: [] };
    const records = await store.list(this.service);
    const outdated: Slot[] = [];
    const report = await adoptRecords(records, {
      service: this.service,
      command: this.#o.command,
      specHash: this.#specHash,
      healthPath: this.#o.healthPath,
      probeTimeoutMs: this.#readiness.timeoutMs,
      stopGraceMs: this.#o.stopGraceMs,
      startTimeoutMs: this.#readiness.startTimeoutMs,
      wallNow: this.#o.clock.wallNow(),
      store,
      liveIds: [...this.#slots.keys()],
      livePids: [...this.#slots.values()].map((s) => s.instance.pid ?? -1),
      take: (record, how) => {
        const now = this.#o.clock.now();
        const slot = adoptedSlot(record, how, {
          service: this.service,
          specHash: this.#specHash,
          now,
          wallNow: this.#o.clock.wallNow(),
        });
        this.#slots.set(record.id, slot);
        this.#persist(slot);
        if (how.outdated) outdated.push(slot);
        if (how.state === 'ready') {
          slot.readyMono = now;
          this.#events.emit('ready', { ...slot.instance });
        } else {
          void this.#awaitReady(slot);
        }
        return { ...slot.instance };
      },
    });
    if (report.stopping)
      this.#track(report.stopping.catch((err) => this.#o.onError(err, 'stop stale instances')));
    if (outdated.length > 0)
      this.#track(
        rollOutdated(outdated, {
          closed: () => this.#closed,
          spawn: (replaces) => this.#spawn(replaces),
          on: (event, listener) => this.on(event, listener),
          onError: this.#o.onError,
        }),
      );
    return report;
  }

  #track(work: Promise<void>): void {
    this.#background.add(work);
    void work.finally(() => this.#background.delete(work));
  }

  /**
   * CPU (percent of one core) and memory (percent of `memoryLimitBytes`) per instance, summed over
   * the instance's whole process group (a wrapper shell and its workers count together), from one
   * scan of /proc. CPU is the tick delta since the previous call; the first call reports 0.
   */
  usage(now: number): Map<string, InstanceUsage> {
    const groups = new Map<string, number | undefined>();
    for (const [id, slot] of this.#slots) groups.set(id, slot.instance.pgid);
    return groupUsage(groups, this.#samples, { now, memoryLimitBytes: this.#o.memoryLimitBytes });
  }

  /**
   * Rotates every instance log that is over `logMaxBytes` (also runs on the housekeeping timer);
   * resolves how many rotated. Asynchronous and one at a time per file (rotating-log.ts).
   */
  async rotateLogs(): Promise<number> {
    const files = [...this.#slots.values()]
      .map((s) => s.instance.logFile)
      .filter((f): f is string => f !== undefined);
    const o = this.#o;
    return rotateInstanceLogs(files, {
      maxBytes: o.logMaxBytes,
      files: o.logFiles,
      rotating: this.#rotating,
      onError: o.onError,
    });
  }

  // ---- internals ----

  #unknown(id: string): LuascaleError {
    return new LuascaleError('LS_ERR_PROVIDER_COMMAND', {
      service: this.service,
      reason: `no live instance ${id}`,
    });
  }

  /** Starts one process; `replaces` makes it a roll's replacement for that outdated instance. */
  async #spawn(replaces?: string): Promise<Instance> {
    const o = this.#o;
    const port = await freePort(o.host);
    // close() may have run while we waited: starting now would leave an instance nobody stops.
    if (this.#closed)
      throw new LuascaleError('LS_ERR_PROVIDER_LAUNCH', { service: o.service, reason: 'provider is closed' });
    const id = newId('inst');
    const logFile = join(o.logDir, o.service, `${id}.log`);
    const spawned = await spawnInstanceProcess({
      service: o.service,
      command: o.command,
      cwd: o.cwd,
      env: { ...process.env, ...o.env, [o.portEnv]: String(port), [INSTANCE_ID_ENV]: id },
      logFile,
      onChildError: (err) => o.onError(err, `instance ${id}`),
    });
    if ('error' in spawned) {
      const err = spawned.error;
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
      const thrown = new LuascaleError(
        'LS_ERR_PROVIDER_LAUNCH',
        { service: o.service, reason: `${o.command[0]}: ${err.message}` },
        { cause: err },
      );
      // A command that cannot start (not on PATH, not executable) is a crash too: repeated, it is
      // a crash loop (the controller alerts), not only a failed actuation.
      this.#crash.launchFailed(instance, thrown);
      throw thrown;
    }
    const child = spawned.child;
    const slot = newSlot(
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
      this.#o.clock.now(),
    );
    slot.specHash = this.#specHash;
    if (replaces) slot.replaces = replaces;
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
    let last: ProbeResult | undefined;
    while (!slot.done && slot.instance.state === 'starting' && !slot.stopping) {
      last = await probeHealth(url, r.timeoutMs);
      if (last.ok && r.warmUp !== undefined) last = await r.warmUp(slot.instance.url);
      if (last.ok) {
        if (slot.done || slot.instance.state !== 'starting' || slot.stopping) return;
        const old = slot.replaces ? this.#slots.get(slot.replaces) : undefined;
        if (slot.replaces && (!old || old.stopping || old.done)) {
          // The instance it was to replace is gone already (scaled down): nobody needs this one.
          void this.stop(slot.instance.id).catch((err) => this.#o.onError(err, `stop ${slot.instance.id}`));
          return;
        }
        slot.instance.state = 'ready';
        slot.instance.readyAt = this.#o.clock.wallNow();
        slot.readyMono = this.#o.clock.now();
        this.#persist(slot);
        this.#events.emit('ready', { ...slot.instance });
        // A roll: the replacement serves now; the outdated instance drains (state `draining` at
        // once, so the controller counts the same number) and stops.
        if (old)
          void this.stop(old.instance.id).catch((err) => this.#o.onError(err, `stop ${old.instance.id}`));
        return;
      }
      if (slot.done || slot.stopping) return;
      if (this.#o.clock.now() - slot.startedMono >= r.startTimeoutMs) {
        // Say what the probe saw, and that the SIGKILL that follows is ours, not a crash.
        slot.failure = `not ready within ${r.startTimeoutMs} ms: ${describeProbe(this.#o.healthPath, last)} (${slot.instance.url}); luascale killed it`;
        slot.killedByUs = true;
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
    const exit: ExitInfo = {
      code,
      signal,
      expected,
      ...(slot.killedByUs && slot.failure ? { killedBy: 'luascale', reason: slot.failure } : {}),
    };
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
    // A draining instance was on its way out, and a roll's replacement that fails leaves the old
    // instance serving: their deaths are reported but not replaced.
    if (!wasDraining && !slot.replaces) this.#crashed(slot);
  }

  #crashed(slot: Slot): void {
    const now = this.#o.clock.now();
    const readyFor = slot.readyMono === undefined ? 0 : now - slot.readyMono;
    this.#crash.crashed(slot.instance, readyFor);
  }

  async #stop(slot: Slot): Promise<void> {
    const i = slot.instance;
    // From here on an exit is expected, even one that happens during the drain.
    slot.stopping = true;
    // An instance still starting has had no traffic: nothing to drain.
    if (i.state === 'ready' || i.state === 'draining') await this.drain(i.id);
    if (slot.done) return;
    await terminateInstance(slot, this.#o.stopGraceMs);
    // An adopted instance has no exit event to report its end.
    if (!slot.child) this.#onExit(slot, null, null);
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
    void this.rotateLogs();
  }

  #persist(slot: Slot): void {
    const store = this.#o.instanceStore;
    if (!store) return;
    const i = slot.instance;
    const record = slotRecord(slot);
    this.#writes.run(() => store.upsert(record), `store upsert ${i.id}`);
  }

  #unpersist(id: string): void {
    const store = this.#o.instanceStore;
    if (store) this.#writes.run(() => store.remove(id), `store remove ${id}`);
  }
}
