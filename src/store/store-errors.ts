/** How the store words its write failures: the reason clause, and the default report on stderr. */
import { LuascaleError } from '../core/errors.js';
import type { PendingWrites } from './store.js';

/** The reason clause of a store error (its message minus the `{file}: write failed:` prefix). */
export function reasonOf(error: unknown): string {
  if (error instanceof LuascaleError && typeof error.details.reason === 'string') return error.details.reason;
  return error instanceof Error ? error.message : String(error);
}

/** The default `onError`: one line on stderr, with what is still queued for a failed write. */
export function defaultWriteErrorReporter(error: LuascaleError, pending: PendingWrites): void {
  const queued =
    error.code === 'LS_ERR_STORE_WRITE'
      ? ` (queued, retrying: ${pending.events} events, ${pending.instances} instance changes, ${pending.state} state values, ${pending.samples} samples)`
      : '';
  process.stderr.write(`luascale store: ${error.message}${queued}\n`);
}
