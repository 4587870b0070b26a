/**
 * The slot of an instance taken over from a previous luascale run: its record from the instance
 * store, as ready or still starting, with the launch spec it runs (outdated ones are rolled).
 */
import type { InstanceRecord } from '../controller/provider.js';
import { newSlot, type Slot } from './instance-slot.js';

/** How adoption takes a record: ready or still starting, and whether its launch spec changed. */
export interface AdoptHow {
  state: 'ready' | 'starting';
  outdated: boolean;
}

/** Options of {@link adoptedSlot}. */
export interface AdoptedSlotOptions {
  service: string;
  /** The launch spec the provider runs now. */
  specHash: string;
  /** Monotonic ms. */
  now: number;
  /** Wall-clock ms. */
  wallNow: number;
}

/** A slot for an adopted `record`. */
export function adoptedSlot(record: InstanceRecord, how: AdoptHow, options: AdoptedSlotOptions): Slot {
  const { now, wallNow } = options;
  const slot = newSlot(
    {
      id: record.id,
      service: options.service,
      url: record.url,
      state: how.state,
      startedAt: record.startedAt,
      ...(how.state === 'ready' ? { readyAt: record.readyAt ?? wallNow } : {}),
      pid: record.pid,
      pgid: record.pgid,
      port: record.port,
      adopted: true,
      logFile: record.logFile,
    },
    record.command,
    // The start timeout counts from the real start, not from the adoption.
    now - Math.max(0, wallNow - record.startedAt),
  );
  slot.specHash = how.outdated ? record.specHash : options.specHash;
  slot.outdated = how.outdated;
  return slot;
}
