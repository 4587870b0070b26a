/**
 * A roll of adopted instances whose launch spec changed, one at a time (a surge of one): start a
 * replacement (hidden from `list()` while it starts), and once it is ready the provider routes to it
 * and drains and stops the old one. A replacement that fails leaves the old instance running.
 */
import type { Instance, Provider } from '../controller/provider.js';
import type { Slot } from './instance-slot.js';

/** What a roll needs from its provider. */
export interface RollHost {
  closed(): boolean;
  /** Starts the replacement of the instance `replaces`. */
  spawn(replaces: string): Promise<Instance>;
  on: Provider['on'];
  onError(err: unknown, context: string): void;
}

/** Replaces `outdated` in order; stops at the first replacement that fails, or at close. */
export async function rollOutdated(outdated: readonly Slot[], host: RollHost): Promise<void> {
  for (const old of outdated) {
    if (host.closed()) return;
    if (old.done || old.stopping) continue;
    try {
      const fresh = await host.spawn(old.instance.id);
      const ok = await new Promise<boolean>((resolve) => {
        const offReady = host.on('ready', (i) => i.id === fresh.id && (offs(), resolve(true)));
        const offFailed = host.on('failed', (i) => i.id === fresh.id && (offs(), resolve(false)));
        // Stopped while starting (close(), or the old one was scaled down): no `failed` follows.
        const offExited = host.on('exited', (i) => i.id === fresh.id && (offs(), resolve(false)));
        const offs = () => (offReady(), offFailed(), offExited());
      });
      if (!ok) {
        if (host.closed()) return;
        host.onError(
          new Error(`its replacement ${fresh.id} did not become ready; it keeps running the old spec`),
          `roll ${old.instance.id}`,
        );
        return;
      }
    } catch (err) {
      host.onError(err, `roll ${old.instance.id}`);
      return;
    }
  }
}
