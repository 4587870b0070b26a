/**
 * Pod CPU from the resource metrics API (`metrics.k8s.io/v1beta1` PodMetrics, served by
 * metrics-server), the source the HPA reads for its Resource metrics. A cluster without it answers
 * 404: CPU then stays unknown (the controller holds, or the default policy tracks in-flight
 * requests) and the API is asked again every `absentRetryMs`, in case metrics-server is installed.
 *
 * `sample(now)` is synchronous (the controller's `usage()`): it returns the last list and starts a
 * refresh in the background when that list is older than `pollMs`. A sample older than
 * 3 × `pollMs` is dropped: stale CPU must not drive a decision.
 */
import * as k8s from '@kubernetes/client-node';
import { statusOf } from './kubernetes-endpoints.js';

/** One pod's usage, summed over its containers. */
export interface PodUsage {
  /** CPU in cores (metrics-server averages it over its window, 15 s by default). */
  cpuCores: number;
  memoryBytes: number;
}

/** Options of {@link PodMetrics}. */
export interface PodMetricsOptions {
  kubeConfig: k8s.KubeConfig;
  namespace: string;
  /** How often to list PodMetrics; default 15 000 ms (metrics-server's resolution). */
  pollMs?: number;
  /** How long to wait before asking a cluster that had no metrics API again; default 60 000 ms. */
  absentRetryMs?: number;
  /** A failed list, or the API being absent (reported once until it appears). */
  onError?: (err: unknown) => void;
}

const SUFFIX: Record<string, number> = {
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  '': 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

/** A Kubernetes quantity (`250m`, `1`, `1500000n`, `64Mi`, `1e3`) as a number; NaN when malformed. */
export function parseQuantity(q: string): number {
  const m = /^([+-]?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)(n|u|m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$/.exec(q.trim());
  if (!m) return NaN;
  return Number(m[1]) * SUFFIX[m[2] ?? '']!;
}

interface PodMetricsList {
  items?: Array<{
    metadata?: { name?: string };
    containers?: Array<{ usage?: { cpu?: string; memory?: string } }>;
  }>;
}

/** Polls PodMetrics of one namespace; see the file comment. */
export class PodMetrics {
  readonly #api: k8s.CustomObjectsApi;
  readonly #o: Required<Omit<PodMetricsOptions, 'kubeConfig' | 'onError'>> &
    Pick<PodMetricsOptions, 'onError'>;
  #last: Map<string, PodUsage> | undefined;
  #lastAt = -Infinity;
  #askedAt = -Infinity;
  #absent = false;
  #pending: Promise<void> | undefined;

  constructor(options: PodMetricsOptions) {
    this.#api = options.kubeConfig.makeApiClient(k8s.CustomObjectsApi);
    this.#o = {
      namespace: options.namespace,
      pollMs: options.pollMs ?? 15_000,
      absentRetryMs: options.absentRetryMs ?? 60_000,
      onError: options.onError,
    };
  }

  /** Whether the cluster served the metrics API at the last ask (false before the first answer). */
  get available(): boolean {
    return this.#last !== undefined && !this.#absent;
  }

  /** The last fresh list by pod name, or undefined; refreshes in the background when due. */
  sample(now: number): Map<string, PodUsage> | undefined {
    const every = this.#absent ? this.#o.absentRetryMs : this.#o.pollMs;
    if (this.#pending === undefined && now - this.#askedAt >= every) void this.refresh(now);
    if (this.#absent || now - this.#lastAt > 3 * this.#o.pollMs) return undefined;
    return this.#last;
  }

  /** Lists PodMetrics now (joins a list in flight); never rejects. */
  refresh(now: number): Promise<void> {
    this.#pending ??= this.#list(now).finally(() => (this.#pending = undefined));
    return this.#pending;
  }

  async #list(now: number): Promise<void> {
    this.#askedAt = now;
    try {
      const list = (await this.#api.listNamespacedCustomObject({
        group: 'metrics.k8s.io',
        version: 'v1beta1',
        namespace: this.#o.namespace,
        plural: 'pods',
      })) as PodMetricsList;
      const out = new Map<string, PodUsage>();
      for (const item of list.items ?? []) {
        const name = item.metadata?.name;
        if (!name) continue;
        let cpuCores = 0;
        let memoryBytes = 0;
        for (const c of item.containers ?? []) {
          cpuCores += parseQuantity(c.usage?.cpu ?? 'x');
          memoryBytes += parseQuantity(c.usage?.memory ?? 'x');
        }
        if (Number.isFinite(cpuCores)) out.set(name, { cpuCores, memoryBytes });
      }
      this.#last = out;
      this.#lastAt = now;
      this.#absent = false;
    } catch (err) {
      const status = statusOf(err);
      if (status === 404 || status === 403) {
        // Reported once; asked again every absentRetryMs (metrics-server or the rule may come).
        if (!this.#absent)
          this.#o.onError?.(
            new Error(
              status === 404
                ? `metrics.k8s.io is not served in namespace ${this.#o.namespace} (no metrics-server?): pod CPU is unknown`
                : `metrics.k8s.io: "list" on pods is forbidden in namespace ${this.#o.namespace} (deploy/kubernetes/rbac.yaml): pod CPU is unknown`,
            ),
          );
        this.#absent = true;
        return;
      }
      this.#o.onError?.(err);
    }
  }
}
