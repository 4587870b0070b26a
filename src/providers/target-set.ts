/**
 * The instance bookkeeping shared by providers that observe targets they do not run themselves
 * (the exec provider's `list_command`, the kubernetes provider's EndpointSlices): launch() leaves a
 * `starting` placeholder, the next new target claims the oldest placeholder (so `ready` carries the
 * id launch() returned), targets nobody asked for are adopted, and a stop() waits until a target
 * leaves. Which target leaves is the platform's choice: if another one went, that one exits and
 * the instance being stopped returns to service.
 */
import type { Clock } from '../core/clock.js';
import { newId } from '../core/ids.js';
import type { Instance, ProviderEvents } from '../controller/provider.js';
import type { Listeners } from './listeners.js';

/** One target as the platform lists it: a stable key (target id, pod name), its URL, its readiness. */
export interface ObservedTarget {
  key: string;
  url: string;
  ready: boolean;
}

/** One instance and what the provider is doing with it. */
export interface TargetRec {
  instance: Instance;
  /** The target key once a listed target has claimed this instance. */
  key?: string;
  launchTimer?: NodeJS.Timeout;
  /** stop() was called: its disappearance is expected, even before the stop waiter exists. */
  stopping?: boolean;
  stopWaiter?: { resolve: () => void; reject: (err: unknown) => void; timer: NodeJS.Timeout };
}

/** Instances by id, by target key, and the launches still waiting for a target. */
export class TargetSet {
  readonly instances = new Map<string, TargetRec>();
  readonly #byKey = new Map<string, TargetRec>();
  readonly #pending: TargetRec[] = [];
  readonly #service: string;
  readonly #clock: Clock;
  readonly #events: Listeners<ProviderEvents>;

  constructor(service: string, clock: Clock, events: Listeners<ProviderEvents>) {
    this.#service = service;
    this.#clock = clock;
    this.#events = events;
  }

  /** Targets that are claimed and not being stopped, plus launches waiting for a target. */
  desired(excluding?: TargetRec): number {
    let n = this.#pending.length;
    for (const r of this.#byKey.values()) if (r !== excluding && !r.stopping) n++;
    return n;
  }

  /** A launch's `starting` placeholder, claimed by the next new target. */
  addPlaceholder(): TargetRec {
    const rec: TargetRec = {
      instance: {
        id: newId('inst'),
        service: this.#service,
        url: '',
        state: 'starting',
        startedAt: this.#clock.wallNow(),
      },
    };
    this.instances.set(rec.instance.id, rec);
    this.#pending.push(rec);
    return rec;
  }

  /**
   * Reconciles with the platform's current targets (terminating ones left out): new targets claim
   * placeholders or are adopted, readiness moves starting ⇄ ready, and targets gone exit.
   */
  apply(targets: Iterable<ObservedTarget>): void {
    const at = this.#clock.wallNow();
    const seen = new Map<string, ObservedTarget>();
    for (const t of targets) {
      seen.set(t.key, t);
      let rec = this.#byKey.get(t.key);
      if (!rec) {
        rec = this.#pending.shift();
        if (rec) clearTimeout(rec.launchTimer);
        else {
          rec = {
            instance: {
              id: newId('inst'),
              service: this.#service,
              url: '',
              state: 'starting',
              startedAt: at,
              adopted: true,
            },
          };
          this.instances.set(rec.instance.id, rec);
        }
        rec.key = t.key;
        this.#byKey.set(t.key, rec);
      }
      rec.instance.url = t.url;
      if (t.ready && rec.instance.state === 'starting') {
        rec.instance.state = 'ready';
        rec.instance.readyAt ??= at;
        this.#events.emit('ready', { ...rec.instance });
      } else if (!t.ready && rec.instance.state === 'ready') {
        rec.instance.state = 'starting';
        this.#events.emit('unready', { ...rec.instance });
      }
    }
    for (const rec of [...this.#byKey.values()]) {
      if (seen.has(rec.key!)) continue;
      this.#byKey.delete(rec.key!);
      this.forget(rec);
      if (rec.stopping) {
        this.finish(rec, true);
        continue;
      }
      // A target we did not name went: if a stop() is waiting, the platform chose this one instead.
      const waiting = [...this.instances.values()].find((r) => r.stopping && r.key !== undefined);
      this.finish(rec, waiting !== undefined);
      if (waiting) {
        waiting.stopping = false;
        const w = waiting.stopWaiter;
        if (w) clearTimeout(w.timer);
        waiting.stopWaiter = undefined;
        waiting.instance.state = seen.get(waiting.key!)?.ready ? 'ready' : 'starting';
        w?.resolve();
      }
    }
  }

  /** The instance is gone: settle its stop() and emit `exited`. */
  finish(rec: TargetRec, expected: boolean): void {
    if (rec.stopWaiter) {
      clearTimeout(rec.stopWaiter.timer);
      const w = rec.stopWaiter;
      rec.stopWaiter = undefined;
      queueMicrotask(w.resolve);
    }
    rec.instance.state = 'stopped';
    this.#events.emit('exited', { ...rec.instance }, { code: null, signal: null, expected });
  }

  /** Drops the instance from the set (and from the launches waiting for a target). */
  forget(rec: TargetRec): void {
    clearTimeout(rec.launchTimer);
    this.instances.delete(rec.instance.id);
    const i = this.#pending.indexOf(rec);
    if (i >= 0) this.#pending.splice(i, 1);
  }
}
