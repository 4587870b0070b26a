/**
 * Replacements of crashed instances waiting out their back-off. A `launch()` during the wait claims
 * one instead of starting a duplicate (and without skipping the back-off).
 */
import type { Instance } from '../controller/provider.js';

interface PendingReplacement {
  timer: NodeJS.Timeout;
  claimed: boolean;
  promise: Promise<Instance>;
  resolve: (instance: Instance) => void;
  reject: (err: unknown) => void;
}

/** The replacements scheduled and not yet started. */
export class PendingReplacements {
  readonly #pending: PendingReplacement[] = [];

  /** How many nobody claimed yet (the controller may count them as instances). */
  unclaimed(): number {
    return this.#pending.filter((p) => !p.claimed).length;
  }

  /** Claims the oldest unclaimed replacement: the instance it will start, or undefined. */
  claim(): Promise<Instance> | undefined {
    const pending = this.#pending.find((p) => !p.claimed);
    if (!pending) return undefined;
    pending.claimed = true;
    return pending.promise;
  }

  /**
   * After `delayMs`, runs `start` (unless `cancelled()` by then) and settles the claim with it;
   * a failed start goes to `onStartError` as well.
   */
  schedule(
    delayMs: number,
    options: {
      start: () => Promise<Instance>;
      cancelled: () => boolean;
      onStartError: (err: unknown) => void;
    },
  ): void {
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
      if (options.cancelled()) return;
      options.start().then(resolve, (err) => {
        reject(err);
        options.onStartError(err);
      });
    }, delayMs);
    this.#pending.push(pending);
  }

  /** Cancels every timer; with `reason`, each replacement's promise rejects with a fresh `reason()`. */
  cancelAll(reason?: () => unknown): void {
    for (const p of this.#pending.splice(0)) {
      clearTimeout(p.timer);
      if (reason) p.reject(reason());
    }
  }
}
