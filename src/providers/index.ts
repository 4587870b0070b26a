/** Providers: implementations of the controller's Provider interface, and their helpers. */
export { ProcessProvider, INSTANCE_ID_ENV, cmdlineMatches, groupExists } from './process-provider.js';
export type { ProcessProviderOptions } from './process-provider.js';
export { StaticProvider } from './static-provider.js';
export type { StaticProviderOptions, Advice } from './static-provider.js';
export { onCrash, DEFAULT_CRASH_BACKOFF } from './crash-backoff.js';
export type { CrashBackoffOptions, CrashVerdict } from './crash-backoff.js';
export { MemoryInstanceStore } from './memory-instance-store.js';
export { ExecProvider } from './exec-provider.js';
export type { ExecProviderOptions } from './exec-provider.js';
// KubernetesProvider (./kubernetes-provider.js) is left out on purpose: @kubernetes/client-node takes
// seconds to load, so import it dynamically only when a service uses provider.kubernetes.
