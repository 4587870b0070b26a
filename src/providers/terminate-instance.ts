/**
 * The last step of a stop: end an instance's whole process group. SIGTERM, then SIGKILL after the
 * grace period; an adopted instance (no child handle, so no exit event) by polling /proc instead.
 */
import { groupExists, signalGroup, stopGroup, waitUntil } from './process-groups.js';
import type { Slot } from './instance-slot.js';

/**
 * Terminates the group of `slot` within `graceMs` (plus the moment a SIGKILL takes). For a spawned
 * instance it resolves after its exit was handled; for an adopted one once the leader is gone.
 */
export async function terminateInstance(slot: Slot, graceMs: number): Promise<void> {
  const i = slot.instance;
  const pgid = i.pgid!;
  if (!slot.child) {
    // Adopted: no child handle, so no exit event; poll /proc for the leader instead.
    await stopGroup(i.pid!, pgid, graceMs);
    return;
  }
  signalGroup(pgid, 'SIGTERM');
  const graceful = await waitUntil(() => slot.done && !groupExists(pgid), graceMs);
  if (!graceful) {
    signalGroup(pgid, 'SIGKILL');
    // SIGKILL cannot be caught, but delivery and exit take a moment: resolve once the group is empty.
    await waitUntil(() => !groupExists(pgid), 2000);
  }
  await slot.exited;
}
