/**
 * The IPC messages between the primary of a gateway cluster and its workers (all plain JSON), and
 * the metric shape prom-client exchanges. See cluster-primary.ts for the protocol as a whole.
 */
import type { AdmissionStats } from './admission/admission.js';
import type { InstanceView } from './gateway.js';
import type { StartGatewayOptions } from './start-gateway.js';
import type { InstanceSpec } from './upstream-pool.js';
import type { WorkerSignalsReport } from './worker-signals.js';

/** A metric as prom-client's getMetricsAsJSON() gives it (what AggregatorRegistry.aggregate takes). */
export interface MetricJson {
  name: string;
  help: string;
  type: string;
  aggregator: string;
  values: Array<{ value: number; labels: Record<string, string | number | undefined>; metricName?: string }>;
}

/** Primary → worker. */
export type ToWorker =
  | { t: 'init'; init: WorkerInit }
  | { t: 'set'; seq: number; service: string; instances: InstanceSpec[] }
  | { t: 'add'; service: string; instance: InstanceSpec }
  | { t: 'remove'; service: string; id: string }
  | { t: 'drain'; seq: number; service: string; id: string; timeoutMs: number }
  | { t: 'atMax'; service: string; atMax: boolean }
  | { t: 'metrics'; seq: number }
  | { t: 'close'; graceMs: number };

/** Worker → primary. */
export type FromWorker =
  | { t: 'hello' }
  | { t: 'ready'; port: number }
  | { t: 'ack'; seq: number }
  | { t: 'drained'; seq: number; drained: boolean; inflight: number }
  | { t: 'health'; e: unknown }
  | { t: 'metrics'; seq: number; json: MetricJson[] }
  | {
      t: 'report';
      sig?: WorkerSignalsReport;
      inst: Record<string, InstanceView[]>;
      adm: Record<string, AdmissionStats | undefined>;
    };

/** What a new worker is started with: plain options and the primary's current membership. */
export interface WorkerInit {
  options: Omit<StartGatewayOptions, 'clock' | 'admission' | 'signals' | 'accessLog'>;
  workers: number;
  instances: Record<string, InstanceSpec[]>;
  draining: Record<string, string[]>;
  atMax: Record<string, boolean>;
}
