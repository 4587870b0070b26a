/**
 * The contract between a scaling policy (Lua or built-in) and the decision core.
 * A policy is a pure function of its context: it sees signals, bounds, params, its own
 * state and history readers, and recommends a replica count. It never actuates anything.
 * The signals' names, units and meanings are in the catalogue (src/signals/catalog.ts).
 */
import {
  loadSignalsOf,
  type FleetSignalName,
  type MeasuredSignals,
  type SignalRecord,
} from '../signals/index.js';

/** Service-level objectives, from config or an OpenAPI document (`x-luascale-slo`). */
export interface Slo {
  latency_p95_ms?: number;
  latency_p99_ms?: number;
  /** p95 time to first token of a model server, ms (llm-slo). */
  ttft_p95_ms?: number;
  /** 0..1 */
  error_rate?: number;
  /** 0..1 */
  availability?: number;
}

/**
 * What the gateway and the instances measured over the last window: the catalogue's load signals.
 * `cpu` and `memory` are absent (undefined; nil in Lua) when the provider reports no usage.
 */
export type LoadSignals = MeasuredSignals;

/** Latency percentiles in milliseconds. */
export type LatencySummary = LoadSignals['latency'];

/** Per-operation signals, keyed by OpenAPI operationId. */
export interface OperationSignals extends LoadSignals {
  slo?: Slo;
}

/** One snapshot of a service, as collected each tick (or produced by the simulator). */
export interface Observation extends LoadSignals, SignalRecord<FleetSignalName> {
  /** Instances being drained: capacity that is going. */
  draining?: number;
  slo?: Slo;
  operations?: Record<string, OperationSignals>;
  /** Named custom metrics (metric sources, Prometheus queries). */
  metrics?: Record<string, number>;
  /** Seconds an instance takes from launch to ready, as measured (or configured). */
  startup_s?: number;
  /** False when the signals are missing or stale (metric source down). */
  fresh?: boolean;
}

/** Reads a metric's recent values, oldest first, at the store's resolution (1 s by default). */
export interface HistoryReader {
  /** Values of `metric` over the last `seconds` up to `now`, oldest first. */
  series(metric: string, seconds: number, now: number): number[];
  /** Resolution of `series` in seconds. */
  readonly stepSeconds: number;
}

/** An alert raised by a policy through `alert(severity, msg)`. */
export interface PolicyAlert {
  severity: 'info' | 'warning' | 'critical';
  message: string;
}

/** Everything a policy sees. `now` is epoch ms of the tick (the decision clock). */
export interface PolicyContext {
  service: string;
  now: number;
  min: number;
  max: number;
  observation: Observation;
  params: Readonly<Record<string, unknown>>;
  /** Kept between ticks (and across restarts once a store exists). Policies may mutate it. */
  state: Record<string, unknown>;
  history: HistoryReader;
}

/** What a policy said, as data. `ok: false` means the decision core keeps the count (PolicyError). */
export type PolicyOutcome =
  | {
      ok: true;
      /** The recommended replica count, before any clamp. */
      replicas: number;
      /** A short reason the policy gave, if any. */
      reason?: string;
      /** The raw value the policy returned (for the Decision's explanation). */
      raw: unknown;
      /** Values the policy computed that explain its answer (built-ins fill this). */
      detail?: Record<string, unknown>;
      /** The policy's `ctx.state` after the call (copied back out of the Lua VM). */
      state?: Record<string, unknown>;
      logs: string[];
      alerts: PolicyAlert[];
    }
  | {
      ok: false;
      /** Stable error code (LS_ERR_POLICY_*). */
      code: string;
      /** One line naming the Lua file and line, or the built-in. */
      error: string;
      logs: string[];
      alerts: PolicyAlert[];
    };

/** A loaded policy. `evaluate` is synchronous and must not throw: failures are outcomes. */
export interface Policy {
  /** `builtin:hpa` or the policy file path. */
  readonly name: string;
  /** The source text, for display (Lua file contents, or the built-in's description). */
  readonly source?: string;
  evaluate(ctx: PolicyContext): PolicyOutcome;
  /**
   * True when evaluate reads ctx.state into a VM of its own and never mutates it (Lua): the caller
   * may pass its state without a copy, and a state the policy returned last call is not sent again.
   */
  readonly isolatesState?: boolean;
  /** Releases the Lua VM, if any. */
  close?(): void;
}

/** A history reader with nothing recorded yet. */
export const emptyHistory: HistoryReader = { series: () => [], stepSeconds: 1 };

/**
 * Fills an Observation's missing fields: counts and gateway signals with 0; `cpu` and `memory`
 * stay absent, since an unknown utilisation is not 0 % (a policy holds on it, as the HPA does).
 */
export function completeObservation(partial: Partial<Observation> & { replicas?: number }): Observation {
  const replicas = partial.replicas ?? partial.ready ?? 0;
  const out = loadSignalsOf(partial) as Observation;
  out.replicas = replicas;
  out.ready = partial.ready ?? Math.max(0, replicas - (partial.starting ?? 0));
  out.starting = partial.starting ?? 0;
  out.draining = partial.draining ?? 0;
  out.slo = partial.slo;
  out.operations = partial.operations ?? {};
  out.metrics = partial.metrics ?? {};
  out.startup_s = partial.startup_s;
  out.fresh = partial.fresh ?? true;
  return out;
}
