/**
 * The signal catalogue: every signal a policy can read, defined once (house style §7). The
 * `LoadSignals` type, the Lua `ctx` and its `get_*` helpers, `ctx.history` / `forecast` /
 * `get_metric` names, alert metrics, the simulator's and the store's history, the admin API's
 * `Signals` schema, the dashboard's keys and the docs table (docs/signals.md) are derived from it.
 *
 * A new gateway signal is one entry here plus the code that measures it. The order is the order
 * of the Lua input array and of the fields of an Observation: append, do not reorder.
 */

/** How a signal combines across routes, gateway workers and gateways. */
export type Aggregation = 'sum' | 'mean' | 'histogram' | 'ratio' | 'count';

/** What each aggregation means, for the docs. */
export const AGGREGATIONS: Readonly<Record<Aggregation, string>> = {
  sum: 'rates and levels add up (the average of a sum is the sum of the averages)',
  mean: 'the mean over ready instances',
  histogram:
    'a percentile of the merged latency histograms (HdrHistogram add), never an average of percentiles',
  ratio: 'recomputed from the summed numerator and denominator',
  count: "one number from the provider's instance list, not aggregated",
};

/** One signal as policies read it. */
export interface SignalSpec {
  /** The name policies use: `ctx.<name>`, `ctx.history("<name>", s)`, `get_metric("<name>")`. */
  readonly name: string;
  readonly unit: string;
  /** One line: what it measures. */
  readonly meaning: string;
  /** `load`: measured by the gateway or the instances; `fleet`: counted by the provider. */
  readonly kind: 'load' | 'fleet';
  /** Who measures it: the gateway (and, in a cluster, every gateway), the instances or the provider. */
  readonly source: 'gateway' | 'instances' | 'provider';
  readonly aggregate: Aggregation;
  /** Whether each tick's value is kept in history (`ctx.history`, the store, the simulator). */
  readonly history: boolean;
  /** A short label for tables and chart keys (the dashboard's chart key). */
  readonly label: string;
  /** The Lua helper that returns it, if any (`get_cpu_usage()`). */
  readonly getter?: string;
  /**
   * The values a load signal takes in the trial's `overload` and `fractional values` points
   * (controller/trial-policy.ts): every load signal is tried non-zero and non-integer before a
   * policy is relied on.
   */
  readonly trial?: { readonly overload: number; readonly fractional: number };
  /**
   * Measured only for some services (the `llm.*` signals: AI services, and per engine): absent
   * otherwise, which Lua sees as nil, never 0. A nested group is either all optional or not.
   */
  readonly optional?: boolean;
}

/** The catalogue, in Lua-array and Observation field order. */
export const SIGNALS = [
  {
    name: 'cpu',
    unit: '%',
    meaning: 'Average CPU over ready instances, percent of one core (0..100 per instance)',
    kind: 'load',
    source: 'instances',
    aggregate: 'mean',
    history: true,
    label: 'cpu',
    getter: 'get_cpu_usage',
    trial: { overload: 99, fractional: 63.7 },
  },
  {
    name: 'memory',
    unit: '%',
    meaning: 'Average memory over ready instances, percent of the configured limit',
    kind: 'load',
    source: 'instances',
    aggregate: 'mean',
    history: true,
    label: 'memory',
    getter: 'get_memory_usage',
    trial: { overload: 90, fractional: 41.25 },
  },
  {
    name: 'rps',
    unit: 'req/s',
    meaning: 'Offered requests per second (admitted + shed)',
    kind: 'load',
    source: 'gateway',
    aggregate: 'sum',
    history: true,
    label: 'rps',
    getter: 'get_request_rate',
    trial: { overload: 4000, fractional: 123.4 },
  },
  {
    name: 'inflight',
    unit: 'requests',
    meaning: 'Requests in flight at the instances, time-weighted mean over the window',
    kind: 'load',
    source: 'gateway',
    aggregate: 'sum',
    history: true,
    label: 'inflight',
    trial: { overload: 400, fractional: 2.5 },
  },
  {
    name: 'queue',
    unit: 'requests',
    meaning: 'Requests waiting in the gateway queue',
    kind: 'load',
    source: 'gateway',
    aggregate: 'sum',
    history: true,
    label: 'queue',
    getter: 'get_queue_length',
    trial: { overload: 250, fractional: 0.5 },
  },
  {
    name: 'shed_rps',
    unit: 'req/s',
    meaning: 'Requests per second the gateway had to shed (429/503)',
    kind: 'load',
    source: 'gateway',
    aggregate: 'sum',
    history: true,
    label: 'shed',
    trial: { overload: 600, fractional: 0.2 },
  },
  {
    name: 'latency.p50',
    unit: 'ms',
    meaning: 'Median request latency at the gateway',
    kind: 'load',
    source: 'gateway',
    aggregate: 'histogram',
    history: true,
    label: 'p50',
    trial: { overload: 900, fractional: 12.5 },
  },
  {
    name: 'latency.p95',
    unit: 'ms',
    meaning: '95th percentile request latency at the gateway',
    kind: 'load',
    source: 'gateway',
    aggregate: 'histogram',
    history: true,
    label: 'p95',
    trial: { overload: 4000, fractional: 87.3 },
  },
  {
    name: 'latency.p99',
    unit: 'ms',
    meaning: '99th percentile request latency at the gateway',
    kind: 'load',
    source: 'gateway',
    aggregate: 'histogram',
    history: true,
    label: 'p99',
    trial: { overload: 9000, fractional: 140.9 },
  },
  {
    name: 'error_rate',
    unit: '0..1',
    meaning: '5xx responses / completed requests',
    kind: 'load',
    source: 'gateway',
    aggregate: 'ratio',
    history: true,
    label: 'errors',
    getter: 'get_error_rate',
    trial: { overload: 0.2, fractional: 0.013 },
  },
  {
    name: 'replicas',
    unit: 'instances',
    meaning: 'Instances the provider has, in any live state (starting + ready)',
    kind: 'fleet',
    source: 'provider',
    aggregate: 'count',
    history: true,
    label: 'replicas',
    getter: 'get_replicas',
  },
  {
    name: 'ready',
    unit: 'instances',
    meaning: 'Instances that pass their health check and take traffic',
    kind: 'fleet',
    source: 'provider',
    aggregate: 'count',
    history: true,
    label: 'ready',
  },
  {
    name: 'starting',
    unit: 'instances',
    meaning: 'Instances launched but not yet ready: capacity that is coming',
    kind: 'fleet',
    source: 'provider',
    aggregate: 'count',
    history: true,
    label: 'starting',
  },
  // AI services (docs/llm.md): the model servers' engine metrics (src/llm/engines) and the
  // gateway's stream measurements where an engine exports none. Absent for other services.
  {
    name: 'llm.waiting',
    unit: 'requests',
    meaning: "Requests queued in the model servers (the engines' own queues), summed",
    kind: 'load',
    source: 'instances',
    aggregate: 'sum',
    history: true,
    label: 'llm waiting',
    trial: { overload: 40, fractional: 2.5 },
    optional: true,
  },
  {
    name: 'llm.running',
    unit: 'requests',
    meaning: "Requests in the model servers' running batches, summed",
    kind: 'load',
    source: 'instances',
    aggregate: 'sum',
    history: true,
    label: 'llm running',
    trial: { overload: 64, fractional: 7.5 },
    optional: true,
  },
  {
    name: 'llm.kv_util',
    unit: '0..1',
    meaning: 'KV-cache use of the model servers, mean over instances',
    kind: 'load',
    source: 'instances',
    aggregate: 'mean',
    history: true,
    label: 'kv',
    trial: { overload: 0.95, fractional: 0.42 },
    optional: true,
  },
  {
    name: 'llm.ttft.p50',
    unit: 'ms',
    meaning: "Median time to first token (the engines' histograms, else measured from the stream)",
    kind: 'load',
    source: 'instances',
    aggregate: 'histogram',
    history: true,
    label: 'ttft p50',
    trial: { overload: 2500, fractional: 87.5 },
    optional: true,
  },
  {
    name: 'llm.ttft.p95',
    unit: 'ms',
    meaning: '95th percentile time to first token',
    kind: 'load',
    source: 'instances',
    aggregate: 'histogram',
    history: true,
    label: 'ttft p95',
    trial: { overload: 9000, fractional: 312.5 },
    optional: true,
  },
  {
    name: 'llm.itl.p50',
    unit: 'ms',
    meaning: 'Median inter-token latency (time between two streamed tokens)',
    kind: 'load',
    source: 'instances',
    aggregate: 'histogram',
    history: true,
    label: 'itl p50',
    trial: { overload: 80, fractional: 12.5 },
    optional: true,
  },
  {
    name: 'llm.itl.p95',
    unit: 'ms',
    meaning: '95th percentile inter-token latency',
    kind: 'load',
    source: 'instances',
    aggregate: 'histogram',
    history: true,
    label: 'itl p95',
    trial: { overload: 250, fractional: 31.5 },
    optional: true,
  },
  {
    name: 'llm.tokens_in_rps',
    unit: 'tokens/s',
    meaning: 'Prompt tokens per second',
    kind: 'load',
    source: 'instances',
    aggregate: 'sum',
    history: true,
    label: 'tokens in',
    trial: { overload: 200000, fractional: 1234.5 },
    optional: true,
  },
  {
    name: 'llm.tokens_out_rps',
    unit: 'tokens/s',
    meaning: 'Generated tokens per second',
    kind: 'load',
    source: 'instances',
    aggregate: 'sum',
    history: true,
    label: 'tokens out',
    trial: { overload: 20000, fractional: 345.5 },
    optional: true,
  },
  {
    name: 'llm.inflight_tokens',
    unit: 'tokens',
    meaning: 'Prompt + output tokens of the requests in flight at the model servers',
    kind: 'load',
    source: 'instances',
    aggregate: 'sum',
    history: true,
    label: 'inflight tokens',
    trial: { overload: 500000, fractional: 2048.5 },
    optional: true,
  },
  {
    name: 'llm.prefix_hit_rate',
    unit: '0..1',
    meaning: "Prompt tokens found in the engines' prefix caches / prompt tokens looked up",
    kind: 'load',
    source: 'instances',
    aggregate: 'ratio',
    history: true,
    label: 'prefix hits',
    trial: { overload: 0.9, fractional: 0.25 },
    optional: true,
  },
] as const satisfies readonly SignalSpec[];

type Spec = (typeof SIGNALS)[number];
/** Every catalogue name. */
export type SignalName = Spec['name'];
/** Names of the signals the gateway and the instances measure. */
export type LoadSignalName = Extract<Spec, { kind: 'load' }>['name'];
/** Names of the signals the gateway measures (every gateway, in a cluster). */
export type GatewaySignalName = Extract<Spec, { source: 'gateway' }>['name'];
/** Names of the signals the provider counts. */
export type FleetSignalName = Extract<Spec, { kind: 'fleet' }>['name'];

type Flat<N> = N extends `${string}.${string}` ? never : N;
type Head<N> = N extends `${infer H}.${string}` ? H : never;
type Leaf<N, H extends string> = N extends `${H}.${infer T}` ? T : never;
/** Signals as an object: `a` is a number field, `a.b` a number field `b` of an object `a`, `a.b.c` one level deeper. */
export type SignalRecord<N extends string> = { [K in Flat<N>]: number } & {
  [H in Head<N>]: SignalRecord<Leaf<N, H>>;
};
/** The top-level field of a name: `llm` of `llm.ttft.p50`. */
export type TopField<N> = N extends `${infer H}.${string}` ? H : N;
/** Every field optional, at every depth. */
export type DeepPartial<T> = { [K in keyof T]?: T[K] extends object ? DeepPartial<T[K]> : T[K] };

/** Number of signals, the length of the Lua input array. */
export const SIGNAL_COUNT = SIGNALS.length;
/** Every name, in catalogue order. */
export const SIGNAL_NAMES: readonly SignalName[] = SIGNALS.map((s) => s.name);
/** Signals the gateway and the instances measure (LoadSignals). */
export const LOAD_SIGNALS: readonly Spec[] = SIGNALS.filter((s) => s.kind === 'load');
/** Names kept in history each tick, in catalogue order. */
export const HISTORY_SIGNALS: readonly SignalName[] = SIGNALS.filter((s) => s.history).map((s) => s.name);

/**
 * Requests per second the gateway shed (429/503) in `s` (an Observation, LoadSignals, the live
 * `signals` event): what "shedding" means to the SLO policy, the at-max alert and the dashboard.
 */
export function shedRate<S extends Partial<SignalRecord<'shed_rps'>>>(s: S): S['shed_rps'] {
  return s.shed_rps;
}

/** Requests per second admitted: offered minus shed, never below 0. */
export function admittedRate(s: SignalRecord<'rps' | 'shed_rps'>): number {
  return Math.max(0, s.rps - s.shed_rps);
}

/** The catalogue entry named `name`, or undefined. */
export function signalSpec(name: string): SignalSpec | undefined {
  return BY_NAME.get(name);
}

const BY_NAME = new Map<string, SignalSpec>(SIGNALS.map((s) => [s.name, s]));
