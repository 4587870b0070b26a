/**
 * The `scale` subresource (autoscaling/v1 Scale) of a Deployment or StatefulSet: read, and
 * read → update with resourceVersion, re-reading on 409 Conflict.
 */
import type * as k8s from '@kubernetes/client-node';
import { apiError, statusOf } from './kubernetes-endpoints.js';

/** Options of {@link WorkloadScale}. */
export interface WorkloadScaleOptions {
  apps: k8s.AppsV1Api;
  /** The luascale service, for error messages. */
  service: string;
  kind: 'Deployment' | 'StatefulSet';
  name: string;
  namespace: string;
}

/** Reads and changes spec.replicas of one workload. */
export class WorkloadScale {
  readonly #o: WorkloadScaleOptions;

  /** Makes no API call. */
  constructor(options: WorkloadScaleOptions) {
    this.#o = options;
  }

  #resource(): string {
    return this.#o.kind === 'StatefulSet' ? 'statefulsets/scale' : 'deployments/scale';
  }

  #call(verb: string, method: string) {
    const plural = this.#o.kind === 'StatefulSet' ? 'statefulsets' : 'deployments';
    return {
      service: this.#o.service,
      verb,
      resource: this.#resource(),
      namespace: this.#o.namespace,
      method,
      path: `/apis/apps/v1/namespaces/${this.#o.namespace}/${plural}/${this.#o.name}/scale`,
    };
  }

  /** The Scale object; throws the API error as a LuascaleError naming the call. */
  async read(): Promise<k8s.V1Scale> {
    const req = { name: this.#o.name, namespace: this.#o.namespace };
    try {
      return this.#o.kind === 'StatefulSet'
        ? await this.#o.apps.readNamespacedStatefulSetScale(req)
        : await this.#o.apps.readNamespacedDeploymentScale(req);
    } catch (err) {
      throw apiError(err, this.#call('get', 'GET'));
    }
  }

  /** Read-modify-write of spec.replicas; a 409 means someone wrote in between, so re-read and retry. */
  async scaleBy(delta: number): Promise<number> {
    let lastConflict: unknown;
    for (let attempt = 0; attempt < 8; attempt++) {
      const scale = await this.read();
      const want = Math.max(0, (scale.spec?.replicas ?? 0) + delta);
      // Sending metadata.resourceVersion makes the update conditional (optimistic concurrency).
      const body: k8s.V1Scale = {
        apiVersion: 'autoscaling/v1',
        kind: 'Scale',
        metadata: scale.metadata,
        spec: { replicas: want },
      };
      const req = { name: this.#o.name, namespace: this.#o.namespace, body };
      try {
        if (this.#o.kind === 'StatefulSet') await this.#o.apps.replaceNamespacedStatefulSetScale(req);
        else await this.#o.apps.replaceNamespacedDeploymentScale(req);
        return want;
      } catch (err) {
        if (statusOf(err) === 409) {
          lastConflict = err;
          continue;
        }
        throw apiError(err, this.#call('update', 'PUT'));
      }
    }
    throw apiError(lastConflict, this.#call('update', 'PUT'));
  }
}
