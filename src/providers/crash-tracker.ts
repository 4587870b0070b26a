/**
 * Crash accounting of the process provider: each crash (or failed spawn) folds into the back-off
 * (crash-backoff.ts), `crashloop` is emitted when crashes repeat, and a replacement is scheduled
 * after the back-off (pending-replacements.ts). A replacement that fails to start counts as a crash
 * and schedules the next one.
 */
import type { Instance, ProviderEvents } from '../controller/provider.js';
import { onCrash, type CrashBackoffOptions } from './crash-backoff.js';
import type { Listeners } from './listeners.js';
import type { PendingReplacements } from './pending-replacements.js';

/** What the tracker needs from its provider. */
export interface CrashTrackerOptions {
  service: string;
  backoff: CrashBackoffOptions;
  /** Whether crashed instances are replaced at all. */
  replaceCrashed: boolean;
  events: Listeners<ProviderEvents>;
  pending: PendingReplacements;
  /** Starts a replacement. */
  spawn(): Promise<Instance>;
  closed(): boolean;
  wallNow(): number;
  onError(err: unknown, context: string): void;
}

/** Counts crashes and schedules replacements for one provider. */
export class CrashTracker {
  readonly #o: CrashTrackerOptions;
  /** Launch errors already counted as crashes (failed spawns). */
  readonly #counted = new WeakSet<object>();
  #crashes = 0;

  constructor(options: CrashTrackerOptions) {
    this.#o = options;
  }

  /** A spawn that failed with `thrown`: a crash, counted once even when a replacement start reports it. */
  launchFailed(instance: Instance, thrown: object): void {
    this.count(instance, 0);
    this.#counted.add(thrown);
  }

  /** An instance that was ready for `readyForMs` crashed: count it and schedule its replacement. */
  crashed(instance: Instance, readyForMs: number): void {
    this.replace(this.count(instance, readyForMs));
  }

  /** Folds one crash (or failed spawn) into the back-off; emits `crashloop` when they repeat. */
  count(instance: Instance, readyForMs: number): number {
    const verdict = onCrash(this.#crashes, readyForMs, this.#o.backoff);
    this.#crashes = verdict.crashes;
    if (verdict.crashLoop) {
      this.#o.events.emit('crashloop', {
        service: this.#o.service,
        crashes: verdict.crashes,
        backoffMs: verdict.delayMs,
        lastInstance: { ...instance },
      });
    }
    return verdict.delayMs;
  }

  /** Schedules a replacement launch after `delayMs`. */
  replace(delayMs: number): void {
    const o = this.#o;
    if (!o.replaceCrashed || o.closed()) return;
    o.pending.schedule(delayMs, {
      start: () => o.spawn(),
      cancelled: () => o.closed(),
      onStartError: (err) => {
        o.onError(err, 'replacement launch');
        // A failed spawn was counted already; any other failure counts here.
        const delay = this.#counted.has(err as object)
          ? onCrash(this.#crashes - 1, 0, o.backoff).delayMs
          : this.count(
              {
                id: 'replacement',
                service: o.service,
                url: '',
                state: 'failed',
                startedAt: o.wallNow(),
                failure: (err as Error)?.message,
              },
              0,
            );
        this.replace(delay);
      },
    });
  }
}
