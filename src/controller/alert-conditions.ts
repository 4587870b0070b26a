/**
 * The conditions a service's alerts are checked against after each tick, pure: the built-in alerts
 * (at max and shedding, flapping, policy error, crash loop, failing actuation, a metric source down),
 * the configured rules over the catalogue signals and custom metrics, and the policy's own alerts.
 * The AlertEngine turns them into firing and resolved notices.
 */
import type { Observation } from '../policy/policy.js';
import type { Decision } from './decision.js';
import { ruleConditions, type AlertRule, type Condition } from './alert-engine.js';
import { flatSignals, shedRate } from '../signals/index.js';

/** What the loop knows besides the decision and its observation. */
export interface AlertFacts {
  /** The service's max replicas. */
  max: number;
  /** Scale direction changes in the last 10 minutes. */
  directionChanges: number;
  crashLoop: { active: boolean; message: string };
  /** The unresolved actuation failure (launch, stop or list), or null. */
  failure: { stage: string; message: string; failures: number } | null;
  /** Failing metric sources by name. */
  sourceErrors: Record<string, string>;
  rules: AlertRule[];
}

/** Every alert condition of one tick: built-in, configured rules, then the policy's. */
export function alertConditions(d: Decision, o: Observation, facts: AlertFacts): Condition[] {
  // Alert rules name catalogue signals (`latency.p95`) or custom metrics.
  const values: Record<string, number> = { ...flatSignals(o), ...o.metrics };
  const builtIn: Condition[] = [
    {
      name: 'AtMaxReplicasShedding',
      active: d.replicas >= facts.max && shedRate(o) > 0,
      severity: 'critical',
      forMs: 10_000,
      message: `at max replicas (${facts.max}) and shedding ${shedRate(o).toFixed(1)} req/s`,
    },
    {
      name: 'Flapping',
      active: facts.directionChanges >= 4,
      severity: 'warning',
      message: `${facts.directionChanges} direction changes in 10 minutes`,
    },
    {
      name: 'PolicyError',
      active: d.reason === 'PolicyError',
      severity: 'warning',
      message: d.policy.outcome.ok ? 'policy ok' : d.policy.outcome.error,
    },
    {
      name: 'CrashLoop',
      active: facts.crashLoop.active,
      severity: 'critical',
      message: facts.crashLoop.message,
    },
    {
      // Launches or stops that fail (a scale_command exiting non-zero, a command not on PATH),
      // or a provider that cannot list its targets: without it, clients only see queue timeouts.
      name: 'ActuationFailing',
      active: facts.failure !== null,
      severity: 'critical',
      message: facts.failure
        ? `${facts.failure.stage} failed ${facts.failure.failures} time(s) in a row: ${facts.failure.message}`
        : 'actuation ok',
    },
    {
      name: 'MetricSourceDown',
      active: Object.keys(facts.sourceErrors).length > 0,
      severity: 'warning',
      message: Object.entries(facts.sourceErrors)
        .map(([k, v]) => `${k}: ${v}`)
        .join('; '),
    },
  ];
  const policyAlerts: Condition[] = (d.policy.outcome.alerts ?? []).map((a, i) => ({
    name: `Policy${i === 0 ? '' : i}`,
    active: true,
    severity: a.severity,
    message: a.message,
  }));
  return [...builtIn, ...ruleConditions(facts.rules, values), ...policyAlerts];
}
