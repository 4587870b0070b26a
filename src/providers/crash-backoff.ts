/**
 * Crash-loop back-off, as a pure function (Kubernetes CrashLoopBackOff: restart at once, then
 * 10 s, 20 s, 40 s … capped at 5 min, reset after 10 min of running; our defaults are shorter
 * because a local process restarts in well under a second).
 *
 *   delay(n) = 0                                   for the first crash (n = 1)
 *   delay(n) = min(maxMs, initialMs × factor^(n−2)) for n ≥ 2 consecutive crashes
 *
 * The count resets when the crashed instance had stayed ready for `resetAfterMs` (default 10 s):
 * an instance that served for a while and was then killed (OOM, a fault test, an operator) is
 * replaced at once, however many such deaths came before; only instances that die before or soon
 * after becoming ready build up the back-off. From
 * `loopThreshold` consecutive crashes on, each crash is reported as a crash loop.
 */

/** Tunables for the back-off. */
export interface CrashBackoffOptions {
  initialMs: number;
  maxMs: number;
  factor: number;
  resetAfterMs: number;
  loopThreshold: number;
}

/** Defaults: 1 s, 2 s, 4 s … capped at 30 s; reset after 10 s ready; crash loop from the 3rd crash. */
export const DEFAULT_CRASH_BACKOFF: CrashBackoffOptions = {
  initialMs: 1000,
  maxMs: 30_000,
  factor: 2,
  resetAfterMs: 10_000,
  loopThreshold: 3,
};

/** What to do after one crash. */
export interface CrashVerdict {
  /** Consecutive crashes including this one. */
  crashes: number;
  /** Wait this long before launching the replacement. */
  delayMs: number;
  crashLoop: boolean;
}

/**
 * Folds one crash into the count. `readyForMs` is how long the crashed instance had been ready
 * (0 if it never was).
 */
export function onCrash(
  previousCrashes: number,
  readyForMs: number,
  options: CrashBackoffOptions,
): CrashVerdict {
  const crashes = readyForMs >= options.resetAfterMs ? 1 : previousCrashes + 1;
  const delayMs =
    crashes <= 1 ? 0 : Math.min(options.maxMs, options.initialMs * options.factor ** (crashes - 2));
  return { crashes, delayMs, crashLoop: crashes >= options.loopThreshold };
}
