/**
 * The instance table for restart adoption. It is a superset of the controller's InstanceStore
 * (src/controller/provider.ts), so the process provider takes it as it is.
 */
import type { InstanceRecord } from '../controller/provider.js';
import type { Awaitable } from './store.js';

/** An instance record plus free-form provider data. */
export interface StoredInstance extends InstanceRecord {
  meta?: Record<string, unknown>;
}

/** Instance records by id. Writes are attempted at once; a failed one is queued and retried. */
export interface InstanceStore {
  /** Inserts or replaces the record with this id. */
  upsert(record: StoredInstance): Awaitable<void>;
  /** Records of one service, or of all, oldest `startedAt` first. */
  list(service?: string): Awaitable<StoredInstance[]>;
  /** Deletes a record (no error if absent). */
  remove(id: string): Awaitable<void>;
}
