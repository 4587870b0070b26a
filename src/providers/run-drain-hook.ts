/**
 * The drain step of a stop: the gateway's drain hook (stop routing, wait for in-flight requests),
 * bounded by a timeout. A failing or slow hook is reported and the stop goes on.
 */
import type { Instance } from '../controller/provider.js';

/** Options of {@link runDrainHook}. */
export interface DrainHookOptions {
  hook?: (instance: Instance) => Promise<void>;
  timeoutMs: number;
  onError(err: unknown, context: string): void;
}

/** Runs the drain hook for `instance`, if any; never rejects. */
export async function runDrainHook(instance: Instance, options: DrainHookOptions): Promise<void> {
  const hook = options.hook;
  if (!hook) return;
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      hook({ ...instance }),
      new Promise((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`drain hook did not finish within ${options.timeoutMs} ms`)),
          options.timeoutMs,
        );
      }),
    ]);
  } catch (err) {
    options.onError(err, `drain ${instance.id}`);
  } finally {
    clearTimeout(timer);
  }
}
