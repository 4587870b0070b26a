/**
 * Collect, the first step of a tick: one Observation of a service from the provider's instances,
 * the gateway's signals, the provider's CPU and memory and the custom metric sources. A failing
 * source becomes a missing value and an error, never an exception out of the tick.
 */
import { completeObservation, type Observation, type OperationSignals, type Slo } from '../policy/policy.js';
import type { InstanceUsage, Provider } from './provider.js';
import type { MetricSource } from './metric-source.js';
import type { SignalSource } from './signal-source.js';
import { readMetricSources, type MetricSourceReadings } from './read-metric-sources.js';

/** What collection leaves behind for status and alerts: usage by instance id, source values and errors. */
export interface CollectedState extends MetricSourceReadings {
  usage: Record<string, InstanceUsage>;
}

/** Options of {@link collectObservation}. */
export interface CollectOptions {
  now: number;
  provider: Provider;
  signals: SignalSource;
  metricSources: readonly MetricSource[];
  /** The scaling interval: the default timeout of a metric source. */
  intervalMs: number;
  slo?: Slo;
  /** The startup time (configured, else measured), read after the sources answered; null when unknown. */
  startupMs(): number | null;
  /** Updated in place; the gateway's snapshot error is recorded as the `gateway` source. */
  into: CollectedState;
}

/** Collects one Observation of `service` at `now` (monotonic ms). Never rejects. */
export async function collectObservation(service: string, options: CollectOptions): Promise<Observation> {
  const { now, into } = options;
  const instances = options.provider.list();
  const ready = instances.filter((i) => i.state === 'ready');
  const starting = instances.filter((i) => i.state === 'starting').length;
  const draining = instances.filter((i) => i.state === 'draining').length;
  let fresh = true;
  let signals: ReturnType<SignalSource['snapshot']> = {};
  try {
    signals = options.signals.snapshot(service, now);
  } catch (err) {
    fresh = false;
    into.errors.gateway = (err as Error).message;
  }
  // CPU and memory come from the provider (the gateway cannot see them); averaged over ready instances.
  let cpu: number | undefined;
  let memory: number | undefined;
  const usage = options.provider.usage?.(now);
  into.usage = usage ? Object.fromEntries(usage) : {};
  if (usage && ready.length > 0) {
    let n = 0;
    let [c, m] = [0, 0];
    for (const inst of ready) {
      const u = usage.get(inst.id);
      if (!u) continue;
      c += u.cpu;
      m += u.memory ?? NaN; // one pod of unknown memory makes the mean unknown
      n++;
    }
    if (n > 0) [cpu, memory] = [c / n, Number.isNaN(m) ? undefined : m / n];
  }
  await readMetricSources(options.metricSources, { now, timeoutMs: options.intervalMs, into });
  const startupMs = options.startupMs();
  return completeObservation({
    ...signals,
    operations: signals.operations as Record<string, OperationSignals> | undefined,
    // Unknown stays unknown (absent, nil in Lua): 0 % would read as idle and scale down.
    cpu: cpu ?? signals.cpu,
    memory: memory ?? signals.memory,
    replicas: ready.length + starting,
    ready: ready.length,
    starting,
    draining,
    slo: options.slo,
    metrics: { ...into.values },
    startup_s: startupMs === null ? undefined : startupMs / 1000,
    fresh,
  });
}
