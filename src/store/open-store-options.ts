/** What `openStore` takes: the SQLite file, retention, write-behind pacing and limits. */
import type { Clock } from '../core/clock.js';
import type { LuascaleError } from '../core/errors.js';
import type { RetentionOptions } from './history-tiers.js';
import type { Migration } from './migrations.js';
import type { PendingWrites } from './store.js';

/** Options of `openStore`. */
export interface OpenStoreOptions {
  /** The SQLite file; created (with its directory) when missing. */
  file: string;
  retention?: RetentionOptions;
  /** `wallNow()` stamps pruning and exports; `now()` paces retries. Default: the system clock. */
  clock?: Clock;
  /** Flush period of the write-behind queue; 0 = no timer (call `flush()` yourself). Default 100. */
  flushIntervalMs?: number;
  /** How often old history and events are pruned. Default 60 000. */
  pruneIntervalMs?: number;
  /** How long to wait for another connection's lock at open. Default 5000. */
  busyTimeoutMs?: number;
  /** Queued events before `append` throws LS_ERR_STORE_WRITE. Default 100 000. */
  maxPendingEvents?: number;
  /** Queued samples before new ones are refused (and reported). Default 1 000 000. */
  maxPendingSamples?: number;
  /** The longest window the history reader serves (1 s values). Default 8 days. */
  historyReaderMaxSeconds?: number;
  /**
   * Every failed write (LS_ERR_STORE_WRITE, with what is still queued) and every failed read of the
   * history reader (LS_ERR_STORE_READ; it then answers with no history). Default: one line on stderr.
   */
  onError?: (error: LuascaleError, pending: PendingWrites) => void;
  /** For tests of the migration machinery. */
  migrations?: readonly Migration[];
}
