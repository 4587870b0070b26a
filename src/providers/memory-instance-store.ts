/** An in-memory InstanceStore, for tests and for running without a database (nothing survives a restart). */
import type { InstanceRecord, InstanceStore } from '../controller/provider.js';

/** Keeps instance records in a Map. */
export class MemoryInstanceStore implements InstanceStore {
  readonly #records = new Map<string, InstanceRecord>();

  /** Inserts or replaces the record with this id. */
  upsert(record: InstanceRecord): void {
    this.#records.set(record.id, { ...record, command: [...record.command] });
  }

  /** Records of one service, or of all. */
  list(service?: string): InstanceRecord[] {
    return [...this.#records.values()]
      .filter((r) => service === undefined || r.service === service)
      .map((r) => ({ ...r }));
  }

  /** Deletes a record (no error if absent). */
  remove(id: string): void {
    this.#records.delete(id);
  }
}
