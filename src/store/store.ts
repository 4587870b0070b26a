/**
 * The store's public shape: four small parts behind one handle, so a Redis implementation
 * (cluster mode, issue 8) can replace the SQLite one part by part. Every method returns
 * `Awaitable<T>`: the SQLite implementation answers synchronously, a network one with a promise;
 * callers that must work with both `await` the result.
 */
import type { EventStore } from './event-store.js';
import type { InstanceStore } from './instance-store.js';
import type { KeyStore } from './key-store.js';
import type { MetricHistoryStore } from './metric-history-store.js';
import type { StateStore } from './state-store.js';
import type { UsageLedger } from './usage-ledger.js';

/** A value now or later: sync implementations return `T`, networked ones `Promise<T>`. */
export type Awaitable<T> = T | Promise<T>;

/** Writes accepted but not yet durable, by kind. */
export interface PendingWrites {
  events: number;
  samples: number;
  state: number;
  instances: number;
}

/** Events, metric history, state and instances, plus the write-behind controls. */
export interface Store {
  /** Where the data lives (a file path or a Redis URL), for messages. */
  readonly location: string;
  readonly events: EventStore;
  readonly history: MetricHistoryStore;
  readonly state: StateStore;
  readonly instances: InstanceStore;
  /** Consumers' API keys (hashes only). */
  readonly keys: KeyStore;
  /** The usage ledger of AI services (src/store/usage-ledger.ts). */
  readonly usage: UsageLedger;
  /** Writes everything queued now; rejects/throws LS_ERR_STORE_WRITE and keeps the queue on failure. */
  flush(): Awaitable<void>;
  /** How many writes are queued (retried until they succeed; never dropped silently). */
  pending(): PendingWrites;
  /** Flushes, stops the timer and releases the file; throws LS_ERR_STORE_WRITE naming what could not be written. */
  close(): Awaitable<void>;
}
