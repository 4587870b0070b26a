/**
 * Instances managed by user commands: any cloud CLI, `nomad job scale`, or an in-house script.
 * - `scale_command` gets the desired count as its last argument (and LUASCALE_DESIRED,
 *   LUASCALE_SERVICE, and on a scale-down LUASCALE_STOP_TARGET = the target luascale drained).
 * - `list_command` prints the targets as JSON: `[{"id": "...", "url": "http://...", "ready": true}]`
 *   (`ready` defaults to true). It is polled every `pollIntervalMs` and right after each scale.
 *
 * Mapping onto the Provider lifecycle (the same as the kubernetes provider):
 * - `launch()` runs scale_command with one more than the live targets plus pending launches and
 *   returns a `starting` placeholder; the next new target id claims the oldest placeholder, so the
 *   `ready` event carries the id launch() returned. Targets that appear unasked are `adopted`.
 * - A target with `ready: false` is `starting`; one that loses readiness goes back to `starting`.
 * - `drain(id)` marks it `draining` (the gateway stops routing to it); no command runs.
 * - `stop(id)` runs scale_command with one fewer and waits until a target disappears from the list.
 *   The command chooses which (it may honour LUASCALE_STOP_TARGET); if another target went, that one
 *   exits and `id` returns to `ready`.
 * - A failing poll keeps the last known targets, reports the error through `onError` and a `sync`
 *   event (`ok: false`, which the controller shows in status and alerts on), and retries with
 *   back-off: pollInterval × 2^(failures − 1), capped at max(pollInterval, 60 s). This holds for the
 *   very first list too: luascale starts with no targets and keeps trying. The first success after
 *   failures emits `sync` with `ok: true`.
 * - `close()` stops polling; it runs no command (the targets are not luascale's processes).
 */
import { LuascaleError } from '../core/errors.js';
import { systemClock, type Clock } from '../core/clock.js';
import type { Instance, Provider, ProviderEvents } from '../controller/provider.js';
import { Listeners } from './listeners.js';
import { formatCommand, parseTargets, runCommand } from './exec-command.js';
import { TargetSet, type TargetRec } from './target-set.js';

/** Options of {@link ExecProvider}. */
export interface ExecProviderOptions {
  service: string;
  /** argv; the desired count is appended. */
  scaleCommand: string[];
  /** argv; must print a JSON array of {id, url, ready?}. */
  listCommand: string[];
  /** Each command is killed (with its process group) after this long; default 30 000 ms. */
  timeoutMs?: number;
  /** Default 5 000 ms. */
  pollIntervalMs?: number;
  /** How long a launched target may take to appear ready before `failed`; default 600 000 ms. */
  launchTimeoutMs?: number;
  /** How long `stop()` waits for a target to leave the list; default 120 000 ms. */
  stopTimeoutMs?: number;
  cwd?: string;
  /** Extra environment for both commands. */
  env?: Record<string, string>;
  /** Called by drain() so the gateway stops routing and waits for in-flight requests (as ProcessProvider's). */
  drainHook?: (instance: Instance) => Promise<void>;
  clock?: Clock;
  /** Failed polls (and failed commands); the provider keeps the last known targets and keeps polling. */
  onError?: (err: unknown) => void;
}

/** The exec provider; implements the controller's {@link Provider}. */
export class ExecProvider implements Provider {
  #scaleChain: Promise<void> = Promise.resolve();
  readonly kind = 'exec';
  readonly advisory = false;
  readonly service: string;
  readonly #o: Required<
    Pick<ExecProviderOptions, 'timeoutMs' | 'pollIntervalMs' | 'launchTimeoutMs' | 'stopTimeoutMs'>
  > &
    ExecProviderOptions;
  readonly #clock: Clock;
  readonly #onError: (err: unknown) => void;
  readonly #events = new Listeners<ProviderEvents>();
  readonly #set: TargetSet;
  readonly #synced: Promise<void>;
  #pollTimer?: NodeJS.Timeout;
  #listFailures = 0;
  #polling?: Promise<void>;
  #again = false;
  #closed = false;

  constructor(options: ExecProviderOptions) {
    this.service = options.service;
    this.#o = {
      timeoutMs: 30_000,
      pollIntervalMs: 5_000,
      launchTimeoutMs: 600_000,
      stopTimeoutMs: 120_000,
      ...options,
    };
    this.#clock = options.clock ?? systemClock;
    this.#onError = options.onError ?? (() => {});
    this.#set = new TargetSet(this.service, this.#clock, this.#events);
    this.#synced = this.#pollOnce();
    this.#synced.then(
      () => this.#scheduleNext(),
      () => this.#scheduleNext(),
    );
  }

  /**
   * Resolves after the first list_command run has been applied; rejects with its error (already
   * reported through `onError` and `sync`; the provider keeps retrying with back-off).
   */
  whenSynced(): Promise<void> {
    return this.#synced;
  }

  /** The list_command id behind an instance, once known. */
  targetOf(id: string): string | undefined {
    return this.#set.instances.get(id)?.key;
  }

  /** Live instances: starting (placeholders and not-ready targets), ready and draining. */
  list(): Instance[] {
    return [...this.#set.instances.values()].map((r) => ({ ...r.instance }));
  }

  /** Runs scale_command with one more; resolves a `starting` placeholder that the next new target claims. */
  async launch(): Promise<Instance> {
    this.#checkOpen();
    const rec = this.#set.addPlaceholder();
    const snapshot = { ...rec.instance };
    try {
      await this.#scale();
    } catch (err) {
      this.#set.forget(rec);
      throw err;
    }
    if (!rec.key && this.#set.instances.has(rec.instance.id)) {
      rec.launchTimer = setTimeout(() => {
        if (rec.key || !this.#set.instances.has(rec.instance.id)) return;
        this.#set.forget(rec);
        rec.instance.state = 'failed';
        rec.instance.failure = `no new target appeared in \`${formatCommand(this.#o.listCommand)}\` within ${this.#o.launchTimeoutMs} ms`;
        this.#events.emit('failed', { ...rec.instance }, rec.instance.failure);
      }, this.#o.launchTimeoutMs);
      rec.launchTimer.unref?.();
    }
    this.#kick();
    return snapshot;
  }

  /** Stops routing to the instance (through drainHook); no command runs. */
  async drain(id: string): Promise<void> {
    const rec = this.#rec(id);
    if (rec.instance.state === 'starting' || rec.instance.state === 'ready') rec.instance.state = 'draining';
    if (this.#o.drainHook) await this.#o.drainHook({ ...rec.instance });
  }

  /** Runs scale_command with one fewer (naming this target) and waits until a target has left the list. */
  async stop(id: string): Promise<void> {
    const rec = this.#rec(id);
    if (rec.stopping)
      throw new LuascaleError('LS_ERR_PROVIDER_COMMAND', {
        service: this.service,
        reason: `${id} is already stopping`,
      });
    if (rec.instance.state !== 'draining') await this.drain(id);
    const wasPending = !rec.key;
    if (wasPending) this.#set.forget(rec); // it no longer counts towards the desired number
    rec.stopping = true;
    try {
      await this.#scale(rec);
    } catch (err) {
      rec.stopping = false;
      if (wasPending) this.#set.finish(rec, true);
      throw err;
    }
    if (wasPending) {
      this.#set.finish(rec, true);
      return;
    }
    // Gone already, or the command removed another target in its place (see #apply).
    if (!this.#set.instances.has(id) || !rec.stopping) return;
    const done = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        rec.stopWaiter = undefined;
        reject(
          new LuascaleError('LS_ERR_PROVIDER_COMMAND', {
            service: this.service,
            reason: `target ${rec.key} was still listed by \`${formatCommand(this.#o.listCommand)}\` ${this.#o.stopTimeoutMs} ms after scaling down`,
          }),
        );
      }, this.#o.stopTimeoutMs);
      rec.stopWaiter = { resolve, reject, timer };
    });
    this.#kick();
    await done;
  }

  /** Stops polling and releases timers; idempotent. Runs no command. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#pollTimer);
    for (const rec of this.#set.instances.values()) {
      clearTimeout(rec.launchTimer);
      if (rec.stopWaiter) {
        clearTimeout(rec.stopWaiter.timer);
        rec.stopWaiter.reject(
          new LuascaleError('LS_ERR_PROVIDER_COMMAND', { service: this.service, reason: 'provider closed' }),
        );
      }
    }
    await this.#polling?.catch(() => {});
  }

  /** Subscribes to an event; returns the unsubscribe function. */
  on<E extends keyof ProviderEvents>(event: E, listener: ProviderEvents[E]): () => void {
    return this.#events.on(event, listener);
  }

  /** Runs list_command now (coalescing with a run in progress) and applies the result. */
  poll(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    if (this.#polling) {
      // A change may have happened after the running list started: run once more afterwards.
      this.#again = true;
      return this.#polling;
    }
    this.#polling = this.#pollOnce().finally(() => {
      this.#polling = undefined;
      if (this.#again && !this.#closed) {
        this.#again = false;
        void this.poll().catch(() => {});
      }
    });
    return this.#polling;
  }

  #kick(): void {
    // A failure is reported inside #pollOnce.
    void this.poll().catch(() => {});
  }

  /** The next timed poll: every pollInterval, or after the back-off while lists fail. */
  #scheduleNext(): void {
    if (this.#closed) return;
    this.#pollTimer = setTimeout(
      () =>
        void this.poll()
          .catch(() => {})
          .finally(() => this.#scheduleNext()),
      this.#retryInMs(),
    );
    this.#pollTimer.unref?.();
  }

  #retryInMs(): number {
    const every = this.#o.pollIntervalMs;
    if (this.#listFailures === 0) return every;
    return Math.min(Math.max(every, 60_000), every * 2 ** (this.#listFailures - 1));
  }

  async #pollOnce(): Promise<void> {
    try {
      const { stdout } = await runCommand(this.#o.listCommand, this.#runOptions());
      if (this.#closed) return;
      const targets = parseTargets(stdout, {
        service: this.service,
        command: formatCommand(this.#o.listCommand),
      });
      this.#set.apply(targets.map((t) => ({ key: t.id, url: t.url, ready: t.ready })));
    } catch (err) {
      if (this.#closed) throw err;
      this.#listFailures++;
      this.#onError(err);
      this.#events.emit('sync', {
        ok: false,
        message: (err as Error)?.message ?? String(err),
        failures: this.#listFailures,
        retryInMs: this.#retryInMs(),
      });
      throw err;
    }
    if (this.#listFailures > 0) {
      this.#listFailures = 0;
      this.#events.emit('sync', { ok: true });
    }
  }

  #runOptions(extra: Record<string, string> = {}) {
    return {
      service: this.service,
      timeoutMs: this.#o.timeoutMs,
      ...(this.#o.cwd !== undefined ? { cwd: this.#o.cwd } : {}),
      env: { LUASCALE_SERVICE: this.service, ...this.#o.env, ...extra },
    };
  }

  /**
   * Runs scale_command one at a time: user scripts and cloud CLIs are rarely safe to run twice at
   * once (two concurrent launches would each see the old state). Each run computes `desired` when
   * it starts, so queued calls converge on the latest count.
   */
  #scale(stopping?: TargetRec): Promise<void> {
    const run = this.#scaleChain.then(() => this.#scaleNow(stopping));
    this.#scaleChain = run.catch(() => {});
    return run;
  }

  /** Desired = targets that are not being stopped + pending launches (observed, so it cannot drift). */
  async #scaleNow(stopping?: TargetRec): Promise<void> {
    const desired = this.#set.desired(stopping);
    const env: Record<string, string> = { LUASCALE_DESIRED: String(desired) };
    if (stopping?.key) env.LUASCALE_STOP_TARGET = stopping.key;
    await runCommand([...this.#o.scaleCommand, String(desired)], this.#runOptions(env));
  }

  #rec(id: string): TargetRec {
    this.#checkOpen();
    const rec = this.#set.instances.get(id);
    if (!rec)
      throw new LuascaleError('LS_ERR_PROVIDER_COMMAND', {
        service: this.service,
        reason: `no live instance ${id}`,
      });
    return rec;
  }

  #checkOpen(): void {
    if (this.#closed)
      throw new LuascaleError('LS_ERR_PROVIDER_COMMAND', {
        service: this.service,
        reason: 'provider is closed',
      });
  }
}
