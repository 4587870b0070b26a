/**
 * Which instances to remove on scale-down, as a pure function: the controller's one victim rule
 * (Kubernetes' ReplicaSet order). Draining instances are already on their way out, then instances
 * still starting (they serve nothing yet), then ready ones: the newest first (it has the coldest
 * caches and the fewest long-lived connections), or the least loaded first when a load function
 * is given (fewest in-flight requests to wait for). Ties keep the order of `instances`.
 */
import type { Instance } from './provider.js';

/** How to choose among ready instances. */
export interface PickOptions {
  /** In-flight requests or another load figure per instance id; lower is removed first. */
  load?: (id: string) => number;
}

const rank: Record<Instance['state'], number> = { draining: 0, starting: 1, ready: 2, stopped: 3, failed: 3 };

/** Returns the `count` instances to remove, in removal order. */
export function pickForRemoval(
  instances: readonly Instance[],
  count: number,
  options: PickOptions = {},
): Instance[] {
  const live = instances.filter(
    (i) => i.state === 'draining' || i.state === 'starting' || i.state === 'ready',
  );
  const sorted = [...live].sort((a, b) => {
    if (rank[a.state] !== rank[b.state]) return rank[a.state] - rank[b.state];
    if (options.load) {
      const d = options.load(a.id) - options.load(b.id);
      if (d !== 0) return d;
    }
    // Newest first; ties keep the input order (the sort is stable), the provider's list order.
    return b.startedAt - a.startedAt;
  });
  return sorted.slice(0, Math.max(0, count));
}
