/**
 * Instances on Kubernetes: scales a Deployment or StatefulSet through its `scale` subresource
 * (autoscaling/v1 Scale, read → update with resourceVersion, re-read on 409 Conflict) and learns
 * the routable endpoints by watching the Service's EndpointSlices (list, then watch from the
 * list's resourceVersion; re-list on 410 Gone). Works in-cluster (service-account token) or from a
 * kubeconfig, through @kubernetes/client-node 1.4. The scale subresource is workload-scale.ts, the
 * list-and-watch loop endpoint-slice-watch.ts, the instance bookkeeping target-set.ts.
 *
 * Mapping onto the Provider lifecycle:
 * - `launch()` adds one replica and returns a placeholder instance (`starting`, no URL yet). The
 *   next endpoint that appears claims the oldest placeholder, so the `ready` event carries the id
 *   `launch()` returned. Pods that appear without a placeholder (kubectl scale, a restart) are
 *   listed as `adopted`.
 * - An endpoint whose `ready` condition is false is `starting` (never routed); one that loses
 *   readiness goes back to `starting` and emits `ready` again when it recovers.
 * - `drain(id)` marks it `draining` and (Deployments) annotates the pod with
 *   `controller.kubernetes.io/pod-deletion-cost` so the ReplicaSet controller prefers it.
 * - `stop(id)` removes one replica. Kubernetes picks the pod: the annotated one for a Deployment
 *   (the cost is a preference, not a guarantee), the highest ordinal for a StatefulSet. It resolves
 *   when a pod has gone; if Kubernetes removed another pod, that one exits and `id` returns to `ready`.
 * - `close()` stops watching. It does not scale the workload down: the pods are Kubernetes' to keep.
 *
 * With `route: 'service'` the provider lists one instance, the Service's cluster address, ready when
 * at least one endpoint is ready; kube-proxy balances across pods and launch/stop only change replicas.
 *
 * `usage()` reports each ready pod's CPU (percent of one core) from the resource metrics API
 * (metrics.k8s.io PodMetrics, kubernetes-pod-metrics.ts), polled in the background. Without that
 * API (no metrics-server), and with `route: 'service'`, CPU is unknown, not 0. Memory is unknown:
 * the pod's limit is not read.
 */
import * as k8s from '@kubernetes/client-node';
import { LuascaleError } from '../core/errors.js';
import { systemClock, type Clock } from '../core/clock.js';
import type { Instance, InstanceUsage, Provider, ProviderEvents } from '../controller/provider.js';
import { Listeners } from './listeners.js';
import { TargetSet, type TargetRec } from './target-set.js';
import { EndpointSliceWatch } from './endpoint-slice-watch.js';
import { apiError, endpointsOf, type Endpoint, type SliceLike } from './kubernetes-endpoints.js';
import { WorkloadScale } from './workload-scale.js';
import { PodMetrics } from './kubernetes-pod-metrics.js';

/** The annotation the ReplicaSet controller reads to choose which pod to delete first (Kubernetes ≥ 1.22). */
export const POD_DELETION_COST = 'controller.kubernetes.io/pod-deletion-cost';

/** Options of {@link KubernetesProvider}. */
export interface KubernetesProviderOptions {
  /** The luascale service name. */
  service: string;
  /** Workload to scale. */
  kind?: 'Deployment' | 'StatefulSet';
  name: string;
  /** Default: the kubeconfig context's namespace (in-cluster: the pod's own), else `default`. */
  namespace?: string;
  /** The Service whose EndpointSlices list the pods (label kubernetes.io/service-name); default `name`. */
  kubeService?: string;
  /** EndpointSlice port, by name or number; default the first port. */
  port?: string | number;
  scheme?: 'http' | 'https';
  /** `endpoints` (default): route to each ready pod. `service`: route to the Service's cluster address. */
  route?: 'endpoints' | 'service';
  /** For `route: 'service'`; default `http://<kubeService>.<namespace>.svc:80`. */
  serviceUrl?: string;
  /** Path of a kubeconfig file. Without it: $KUBECONFIG, ~/.kube/config, then in-cluster. */
  kubeconfig?: string;
  /** An already loaded config (tests, embedding). */
  kubeConfig?: k8s.KubeConfig;
  /** Annotate drained pods with pod-deletion-cost (needs `patch pods`); default true for Deployments. */
  deletionCost?: boolean;
  /** How long a launched replica may take to show up ready before `failed`; default 600 000 ms. */
  launchTimeoutMs?: number;
  /** How long `stop()` waits for a pod to go; default 120 000 ms. */
  stopTimeoutMs?: number;
  /** Delay before re-watching after a watch error, doubled up to 30 s; default 500 ms. */
  rewatchDelayMs?: number;
  /** How often to read pod usage from metrics.k8s.io; default 15 000 ms (metrics-server's resolution). */
  metricsPollMs?: number;
  /** Called by drain() so the gateway stops routing and waits for in-flight requests (as ProcessProvider's). */
  drainHook?: (instance: Instance) => Promise<void>;
  clock?: Clock;
  /** Background failures (watch errors, a failed annotation); the provider keeps going. */
  onError?: (err: unknown) => void;
}

/** Loads the kubeconfig the way kubectl does, or in-cluster when running in a pod. */
export function loadKubeConfig(path?: string): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  if (path) kc.loadFromFile(path);
  else kc.loadFromDefault();
  return kc;
}

/** The Kubernetes provider; implements the controller's {@link Provider}. */
export class KubernetesProvider implements Provider {
  readonly kind = 'kubernetes';
  readonly advisory = false;
  readonly service: string;
  readonly namespace: string;
  readonly #o: Required<
    Pick<
      KubernetesProviderOptions,
      | 'kind'
      | 'name'
      | 'kubeService'
      | 'scheme'
      | 'route'
      | 'launchTimeoutMs'
      | 'stopTimeoutMs'
      | 'rewatchDelayMs'
    >
  > &
    KubernetesProviderOptions;
  readonly #kc: k8s.KubeConfig;
  readonly #core: k8s.CoreV1Api;
  readonly #scale: WorkloadScale;
  readonly #watch: EndpointSliceWatch;
  readonly #clock: Clock;
  readonly #onError: (err: unknown) => void;
  readonly #events = new Listeners<ProviderEvents>();
  readonly #set: TargetSet;
  readonly #synced: Promise<void>;
  readonly #metrics: PodMetrics;
  #closed = false;
  #serviceRec?: TargetRec;

  constructor(options: KubernetesProviderOptions) {
    this.service = options.service;
    this.#o = {
      kind: 'Deployment',
      kubeService: options.name,
      scheme: 'http',
      route: 'endpoints',
      launchTimeoutMs: 600_000,
      stopTimeoutMs: 120_000,
      rewatchDelayMs: 500,
      ...options,
    };
    this.#kc = options.kubeConfig ?? loadKubeConfig(options.kubeconfig);
    this.namespace =
      options.namespace ?? this.#kc.getContextObject(this.#kc.getCurrentContext())?.namespace ?? 'default';
    this.#core = this.#kc.makeApiClient(k8s.CoreV1Api);
    this.#scale = new WorkloadScale({
      apps: this.#kc.makeApiClient(k8s.AppsV1Api),
      service: this.service,
      kind: this.#o.kind,
      name: this.#o.name,
      namespace: this.namespace,
    });
    this.#clock = options.clock ?? systemClock;
    this.#onError = options.onError ?? (() => {});
    this.#set = new TargetSet(this.service, this.#clock, this.#events);
    if (this.#o.route === 'service') {
      const at = this.#clock.wallNow();
      this.#serviceRec = {
        instance: {
          id: `svc_${this.#o.kubeService}`,
          service: this.service,
          url: options.serviceUrl ?? `${this.#o.scheme}://${this.#o.kubeService}.${this.namespace}.svc:80`,
          state: 'starting',
          startedAt: at,
        },
      };
    }
    this.#watch = new EndpointSliceWatch({
      kubeConfig: this.#kc,
      service: this.service,
      namespace: this.namespace,
      kubeService: this.#o.kubeService,
      rewatchDelayMs: this.#o.rewatchDelayMs,
      onChange: (slices) => this.#apply(slices),
      onError: (err) => this.#onError(err),
    });
    this.#metrics = new PodMetrics({
      kubeConfig: this.#kc,
      namespace: this.namespace,
      pollMs: options.metricsPollMs,
      onError: (err) => this.#onError(err),
    });
    this.#synced = this.#watch.start();
    // The first list's failure is reported by whenSynced(); keep it from being unhandled here.
    this.#synced.catch(() => {});
  }

  /** Resolves after the first EndpointSlice list has been applied; rejects if it failed. */
  whenSynced(): Promise<void> {
    return this.#synced;
  }

  /** The pod behind an instance id, once known. */
  podOf(id: string): string | undefined {
    return this.#set.instances.get(id)?.key;
  }

  /** Live instances: starting (placeholders and not-ready pods), ready and draining. */
  list(): Instance[] {
    if (this.#serviceRec) return [{ ...this.#serviceRec.instance }];
    return [...this.#set.instances.values()].map((r) => ({ ...r.instance }));
  }

  /** Adds one replica; resolves a `starting` placeholder that the next new endpoint claims. */
  async launch(): Promise<Instance> {
    this.#checkOpen();
    if (this.#serviceRec) {
      await this.#scaleBy(+1);
      return { ...this.#serviceRec.instance };
    }
    // The placeholder exists before the update, so an endpoint that arrives before the response claims it.
    const rec = this.#set.addPlaceholder();
    const snapshot = { ...rec.instance };
    try {
      await this.#scaleBy(+1);
    } catch (err) {
      this.#set.forget(rec);
      throw err;
    }
    if (!rec.key && this.#set.instances.has(rec.instance.id)) {
      rec.launchTimer = setTimeout(() => {
        if (rec.key || !this.#set.instances.has(rec.instance.id)) return;
        this.#set.forget(rec);
        rec.instance.state = 'failed';
        rec.instance.failure = `no new endpoint became ready within ${this.#o.launchTimeoutMs} ms`;
        this.#events.emit('failed', { ...rec.instance }, rec.instance.failure);
      }, this.#o.launchTimeoutMs);
      rec.launchTimer.unref?.();
    }
    return snapshot;
  }

  /** Stops routing to the instance and, for a Deployment, makes its pod the preferred one to delete. */
  async drain(id: string): Promise<void> {
    const rec = this.#rec(id);
    if (this.#serviceRec) return;
    if (rec.instance.state === 'starting' || rec.instance.state === 'ready') rec.instance.state = 'draining';
    if (this.#o.drainHook) await this.#o.drainHook({ ...rec.instance });
    if (rec.key && this.#o.kind === 'Deployment' && this.#o.deletionCost !== false) {
      const path = `/api/v1/namespaces/${this.namespace}/pods/${rec.key}`;
      try {
        await this.#core.patchNamespacedPod(
          // int32 minimum: the lowest cost is deleted first.
          {
            name: rec.key,
            namespace: this.namespace,
            body: { metadata: { annotations: { [POD_DELETION_COST]: '-2147483648' } } },
          },
          k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
        );
      } catch (err) {
        // Only a preference: without it Kubernetes may remove another pod, which stop() handles.
        this.#onError(apiError(err, { ...this.#call('patch', 'pods'), method: 'PATCH', path }));
      }
    }
  }

  /** Removes one replica; resolves when a pod has gone (see the file comment for which one). */
  async stop(id: string): Promise<void> {
    const rec = this.#rec(id);
    if (this.#serviceRec) {
      await this.#scaleBy(-1);
      return;
    }
    if (rec.stopping)
      throw new LuascaleError('LS_ERR_PROVIDER_COMMAND', {
        service: this.service,
        reason: `${id} is already stopping`,
      });
    if (rec.instance.state !== 'draining') await this.drain(id);
    rec.stopping = true;
    const wasPending = !rec.key;
    try {
      await this.#scaleBy(-1);
    } catch (err) {
      rec.stopping = false;
      throw err;
    }
    if (wasPending && !rec.key) {
      // Still a placeholder: its replica is taken back; whichever pod Kubernetes drops was never routed.
      this.#set.forget(rec);
      this.#set.finish(rec, true);
      return;
    }
    // Gone already, or Kubernetes removed another pod in its place (see #apply).
    if (!this.#set.instances.has(id) || !rec.stopping) return;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        rec.stopWaiter = undefined;
        reject(
          new LuascaleError('LS_ERR_PROVIDER_COMMAND', {
            service: this.service,
            reason: `pod ${rec.key} of ${this.#o.kind} ${this.namespace}/${this.#o.name} was still serving ${this.#o.stopTimeoutMs} ms after scaling down`,
          }),
        );
      }, this.#o.stopTimeoutMs);
      rec.stopWaiter = { resolve, reject, timer };
    });
  }

  /** Stops watching and releases timers; idempotent. The workload keeps its replicas. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#watch.close();
    for (const rec of this.#set.instances.values()) {
      clearTimeout(rec.launchTimer);
      if (rec.stopWaiter) {
        clearTimeout(rec.stopWaiter.timer);
        rec.stopWaiter.reject(
          new LuascaleError('LS_ERR_PROVIDER_COMMAND', { service: this.service, reason: 'provider closed' }),
        );
      }
    }
  }

  /** CPU of each live pod from the last metrics.k8s.io sample; empty while it is unknown. */
  usage(now: number): Map<string, InstanceUsage> {
    const out = new Map<string, InstanceUsage>();
    const sample = this.#closed || this.#serviceRec ? undefined : this.#metrics.sample(now);
    if (!sample) return out;
    for (const [id, rec] of this.#set.instances) {
      const u = rec.key === undefined ? undefined : sample.get(rec.key);
      if (u) out.set(id, { cpu: u.cpuCores * 100, rssBytes: u.memoryBytes });
    }
    return out;
  }

  /** Reads metrics.k8s.io now, so the next usage() call sees a sample taken at `now`. */
  refreshUsage(now: number): Promise<void> {
    return this.#serviceRec ? Promise.resolve() : this.#metrics.refresh(now);
  }

  /** Subscribes to an event; returns the unsubscribe function. */
  on<E extends keyof ProviderEvents>(event: E, listener: ProviderEvents[E]): () => void {
    return this.#events.on(event, listener);
  }

  /** spec.replicas of the workload, read through the scale subresource. */
  async replicas(): Promise<number> {
    const scale = await this.#scale.read();
    return scale.spec?.replicas ?? 0;
  }

  /** Adds `delta` replicas (at least 0 in all); throws when the provider is closed. */
  #scaleBy(delta: number): Promise<number> {
    this.#checkOpen();
    return this.#scale.scaleBy(delta);
  }

  #call(verb: string, resource: string) {
    return { service: this.service, verb, resource, namespace: this.namespace };
  }

  /** Reconciles instances with the current endpoints and emits the lifecycle events. */
  #apply(slices: Iterable<SliceLike>): void {
    const endpoints = endpointsOf(slices, { port: this.#o.port, scheme: this.#o.scheme });
    if (this.#serviceRec) return this.#applyService(endpoints);
    const live = [...endpoints.values()].filter((ep) => !ep.terminating);
    this.#set.apply(live);
  }

  #applyService(endpoints: Map<string, Endpoint>): void {
    const rec = this.#serviceRec!;
    const anyReady = [...endpoints.values()].some((e) => e.ready);
    if (anyReady && rec.instance.state !== 'ready') {
      rec.instance.state = 'ready';
      rec.instance.readyAt ??= this.#clock.wallNow();
      this.#events.emit('ready', { ...rec.instance });
    } else if (!anyReady && rec.instance.state === 'ready') {
      rec.instance.state = 'starting';
      this.#events.emit('unready', { ...rec.instance });
    }
  }

  #rec(id: string): TargetRec {
    this.#checkOpen();
    const rec = this.#serviceRec?.instance.id === id ? this.#serviceRec : this.#set.instances.get(id);
    if (!rec)
      throw new LuascaleError('LS_ERR_PROVIDER_COMMAND', {
        service: this.service,
        reason: `no live instance ${id}`,
      });
    return rec;
  }

  #checkOpen(): void {
    if (this.#closed)
      throw new LuascaleError('LS_ERR_PROVIDER_COMMAND', {
        service: this.service,
        reason: 'provider is closed',
      });
  }
}
