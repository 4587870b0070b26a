/**
 * The Kubernetes provider's view of a Service's EndpointSlices: list, then watch from the list's
 * resourceVersion; re-list on 410 Gone; re-watch after a watch ends, backing off (doubling up to
 * 30 s) while the API is unreachable or a watch closes without events.
 */
import * as k8s from '@kubernetes/client-node';
import { apiError, statusOf, type SliceLike } from './kubernetes-endpoints.js';

/** Options of {@link EndpointSliceWatch}. */
export interface EndpointSliceWatchOptions {
  kubeConfig: k8s.KubeConfig;
  /** The luascale service, for error messages. */
  service: string;
  namespace: string;
  /** The Service whose slices are watched (label kubernetes.io/service-name). */
  kubeService: string;
  /** Delay before re-watching after a watch error, doubled up to 30 s. */
  rewatchDelayMs: number;
  /** Called with every slice after the list and after each change. */
  onChange: (slices: Iterable<SliceLike>) => void;
  /** Watch failures; the watch keeps going. */
  onError: (err: unknown) => void;
}

/** The current EndpointSlices of one Service, kept up to date by a list-and-watch loop. */
export class EndpointSliceWatch {
  readonly #o: EndpointSliceWatchOptions;
  readonly #discovery: k8s.DiscoveryV1Api;
  readonly #slices = new Map<string, SliceLike>();
  #resourceVersion = '';
  #watch?: AbortController;
  #rewatchTimer?: NodeJS.Timeout;
  #rewatchDelay: number;
  #closed = false;

  /** Does not call the API yet; `start()` does. */
  constructor(options: EndpointSliceWatchOptions) {
    this.#o = options;
    this.#discovery = options.kubeConfig.makeApiClient(k8s.DiscoveryV1Api);
    this.#rewatchDelay = options.rewatchDelayMs;
  }

  /** Lists and starts watching; rejects when the first list fails (later failures go to `onError`). */
  start(): Promise<void> {
    return this.#relist();
  }

  /** Stops watching and any pending re-watch; idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#watch?.abort();
    clearTimeout(this.#rewatchTimer);
  }

  #call(verb: string) {
    return {
      service: this.#o.service,
      verb,
      resource: 'endpointslices',
      namespace: this.#o.namespace,
      method: 'GET',
      path: this.#slicesPath(),
    };
  }

  #slicesPath(): string {
    return `/apis/discovery.k8s.io/v1/namespaces/${this.#o.namespace}/endpointslices`;
  }

  #selector(): string {
    return `kubernetes.io/service-name=${this.#o.kubeService}`;
  }

  /** List the slices, apply them, then watch from the list's resourceVersion. */
  async #relist(): Promise<void> {
    if (this.#closed) return;
    let list: k8s.V1EndpointSliceList;
    try {
      list = await this.#discovery.listNamespacedEndpointSlice({
        namespace: this.#o.namespace,
        labelSelector: this.#selector(),
      });
    } catch (err) {
      throw apiError(err, this.#call('list'));
    }
    this.#slices.clear();
    for (const s of list.items) this.#slices.set(s.metadata?.name ?? '', s as SliceLike);
    this.#resourceVersion = list.metadata?.resourceVersion ?? '';
    this.#o.onChange(this.#slices.values());
    await this.#startWatch();
  }

  async #startWatch(): Promise<void> {
    if (this.#closed) return;
    let expired = false;
    let sawEvent = false;
    const watch = new k8s.Watch(this.#o.kubeConfig);
    const controller = await watch.watch(
      this.#slicesPath(),
      { labelSelector: this.#selector(), resourceVersion: this.#resourceVersion, allowWatchBookmarks: true },
      (type: string, object: SliceLike & { code?: number; message?: string }) => {
        sawEvent = true;
        if (type === 'ERROR') {
          // 410 Gone: our resourceVersion was compacted; only a fresh list can resynchronise.
          if (object.code === 410) expired = true;
          else this.#o.onError(apiError({ code: object.code, body: object }, this.#call('watch')));
          return;
        }
        const rv = object.metadata?.resourceVersion;
        if (rv) this.#resourceVersion = rv;
        if (type === 'BOOKMARK') return;
        const name = object.metadata?.name ?? '';
        if (type === 'DELETED') this.#slices.delete(name);
        else this.#slices.set(name, object);
        this.#o.onChange(this.#slices.values());
      },
      (err: unknown) => {
        if (this.#closed) return;
        if (err && statusOf(err) === 410) expired = true;
        const failed = Boolean(err) && !expired;
        if (failed) this.#o.onError(apiError(err, this.#call('watch')));
        // A watch that delivered events worked: back to the base delay. A clean close after events
        // (the apiserver's watch timeout) resumes at once; errors and empty closes back off, doubling to 30 s.
        if (sawEvent) this.#rewatchDelay = this.#o.rewatchDelayMs;
        const delay = failed || !sawEvent ? this.#rewatchDelay : 0;
        if (delay > 0) this.#rewatchDelay = Math.min(this.#rewatchDelay * 2, 30_000);
        this.#rewatchTimer = setTimeout(() => this.#resume(expired), delay);
      },
    );
    if (this.#closed) controller.abort();
    else this.#watch = controller;
  }

  /** Re-watches (or re-lists after 410); while the API is unreachable, retries with doubling backoff up to 30 s. */
  #resume(relist: boolean): void {
    if (this.#closed) return;
    (relist ? this.#relist() : this.#startWatch()).catch((err: unknown) => {
      if (this.#closed) return;
      this.#o.onError(err);
      const delay = this.#rewatchDelay;
      this.#rewatchDelay = Math.min(this.#rewatchDelay * 2, 30_000);
      // After a failure the last resourceVersion may be stale too: start over with a list.
      this.#rewatchTimer = setTimeout(() => this.#resume(true), delay);
    });
  }
}
