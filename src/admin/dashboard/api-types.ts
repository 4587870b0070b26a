/**
 * The admin API's shapes as the page sees them: derived from the same TypeBox schemas that
 * validate and serialise the responses (src/admin/admin-schemas.ts), so a change there breaks the
 * dashboard's typecheck instead of the page. Type-only imports: nothing of them reaches the bundle.
 */
import type { Static } from '@sinclair/typebox';
import type * as S from '../admin-schemas.js';
import type { Decision as CoreDecision } from '../../controller/decision.js';
import type { LoadSignals, OperationSignals, Slo } from '../../policy/policy.js';

export type { Slo, OperationSignals };
/** Latency percentiles, ms. */
export type Latency = Static<typeof S.Latency>;
/** Replica counts by state. */
export type Replicas = Static<typeof S.Replicas>;
/** A service's current signals: the catalogue's load signals (src/signals/catalog.ts). */
export type Signals = LoadSignals;
/** A firing alert. */
export type Alert = Static<typeof S.Alert>;
/** One Decision, as the controller produced it. */
export type Decision = CoreDecision;
/** One instance row of `GET /v1/services/:name`. */
export type Instance = Static<typeof S.Instance>;
/** One row of `GET /v1/services`. */
export type ServiceSummary = Omit<
  Static<typeof S.ServiceSummary>,
  'replicas' | 'signals' | 'alerts' | 'slo'
> & {
  replicas: Replicas;
  signals: Signals | null;
  alerts: Alert[];
  slo: Slo | null;
};
/** `GET /v1/services/:name`. */
export type ServiceDetail = ServiceSummary & {
  instances: Instance[];
  lastDecision: Decision | null;
  operations: Record<string, Partial<OperationSignals>>;
  policySource: string | null;
};
/** A stored or live event. */
export type AdminEvent = Static<typeof S.Event>;
/** `GET /v1/events`. */
export type EventPage = { events: AdminEvent[]; next: number | null };
/** `GET /v1/metrics/query`. */
export type MetricSeries = Static<typeof S.MetricSeries>;
/** `POST /v1/policies/eval` body and answer. */
export type EvalRequest = Static<typeof S.EvalRequest>;
export type EvalResult = Omit<Static<typeof S.EvalResult>, 'decision'> & { decision: Decision };
/** `POST /v1/services/:name/scale` body. */
export type ScaleRequest = Static<typeof S.ScaleRequest>;
/**
 * One group's totals of `GET /v1/usage` (src/admin/usage-routes.ts's UsageGroupView; written out
 * here because the dashboard may import only admin-schemas.ts of the admin layer).
 */
export interface UsageGroup {
  group: Partial<Record<string, string>>;
  requests: number;
  input: number;
  cachedInput: number;
  cacheWrite: number;
  output: number;
  reasoning: number;
  costUsd: number;
  estimated: number;
}
/** `GET /v1/usage` (summary view). */
export type UsageSummary = { by?: string[]; groups?: UsageGroup[] };
/** What the usage panel reads of a consumer of `GET /v1/consumers` (key-routes.ts's ConsumerView). */
export interface ConsumerBudgets {
  name: string;
  limits: {
    tokens_per_day?: number;
    tokens_per_month?: number;
    cost_per_day_usd?: number;
    cost_per_month_usd?: number;
  } | null;
}
/** `{ error: { code, message } }`. */
export type ErrorBody = Static<typeof S.ErrorBody>;

/**
 * The non-stored SSE event `signals` the program publishes every tick per service: what the live
 * charts plot. `capacity_rps` (when present) is the load the ready instances can take.
 */
export interface LiveSignals extends LoadSignals {
  replicas: Replicas;
  admitted_rps?: number;
  capacity_rps?: number;
  slo?: Slo | null;
  instances?: Array<{
    id: string;
    state: string;
    cpu?: number | null;
    memory?: number | null;
    inflight?: number | null;
  }>;
}
