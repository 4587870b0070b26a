/**
 * A Provider that acts only while this node leads. `advisory` reads true on followers, so their
 * control loops decide and record but never actuate (the controller skips advisory providers):
 * they hold their scale. On the leader, `launch` and `stop` first ask Redis, atomically, whether
 * the lease is still ours with time to spare, and refuse otherwise. A provider whose backend can
 * check a fencing token itself (a compare-and-set on a shared record) gets the lease's token
 * through `fence()`, which closes the gap between the check and the act.
 */
import { LuascaleError } from '../core/errors.js';
import type { Provider } from '../controller/provider.js';
import type { LeaderLease } from './leader-lease.js';

/** Wraps `provider` so that only the lease holder changes the instance set. */
export function fencedProvider(provider: Provider, lease: LeaderLease): Provider {
  async function fenced(action: string): Promise<void> {
    if (!(await lease.check())) {
      const reason = `not the cluster leader (lease held by ${lease.holder ?? 'nobody'}); ${action} refused`;
      throw new LuascaleError(action === 'launch' ? 'LS_ERR_PROVIDER_LAUNCH' : 'LS_ERR_PROVIDER_COMMAND', {
        service: provider.service,
        reason,
      });
    }
  }
  const wrapped: Provider = {
    kind: provider.kind,
    service: provider.service,
    get advisory() {
      return provider.advisory || !lease.isHeld();
    },
    list: () => provider.list(),
    async launch() {
      await fenced('launch');
      return provider.launch();
    },
    drain: (id) => provider.drain(id),
    async stop(id) {
      await fenced('stop');
      return provider.stop(id);
    },
    close: () => provider.close(),
    on: (event, listener) => provider.on(event, listener),
  };
  // The optional capabilities (PROVIDER_CAPABILITIES): offered exactly when the wrapped provider
  // offers them. Adoption stops stale instances, so only the leader adopts.
  if (provider.usage) wrapped.usage = (now) => provider.usage!(now);
  if (provider.refreshUsage) wrapped.refreshUsage = (now) => provider.refreshUsage!(now);
  if (provider.pendingReplacements) wrapped.pendingReplacements = () => provider.pendingReplacements!();
  if (provider.adopt) {
    wrapped.adopt = async () => {
      await fenced('adopt');
      return provider.adopt!();
    };
  }
  return wrapped;
}
