/** A provider that lists no instances and never actuates (advisory), with its event bus exposed. */
import type { Instance, Provider, ProviderEvents } from '../../src/controller/provider.js';
import { Listeners } from '../../src/providers/listeners.js';

/** An `exec`-kind advisory provider for service `web`; `events.emit('sync', …)` drives it. */
export function advisoryProvider(): { provider: Provider; events: Listeners<ProviderEvents> } {
  const events = new Listeners<ProviderEvents>();
  const provider: Provider = {
    kind: 'exec',
    service: 'web',
    advisory: true,
    list: () => [] as Instance[],
    launch: () => Promise.reject(new Error('unused')),
    drain: async () => {},
    stop: async () => {},
    close: async () => {},
    on: (event, listener) => events.on(event, listener),
  };
  return { provider, events };
}
