/**
 * Upstream health as a pure state machine, driven by outcomes and `now` (no timers inside):
 *
 *   healthy ──failure──▶ suspect ──N consecutive failures──▶ ejected ──backoff expires──▶ probing
 *      ▲                   │ success                                                     │  │
 *      └───────────────────┘◀───────────────── healthy_threshold successes ──────────────┘  │
 *                                               ejected (longer backoff) ◀── failure ───────┘
 *
 * Passive failures are 5xx responses and connect errors on real traffic (Envoy outlier detection:
 * consecutive_5xx, default 5). Active probe failures count separately (unhealthy_threshold). The
 * ejection lasts base·2^(k−1) ms for the k-th ejection, capped at max (Envoy: 30 s × k, max 300 s;
 * APISIX api-breaker: 2^n s); k resets once an instance has stayed out of trouble for `max`.
 */

/** The four states named in docs/gateway.md. */
export type HealthStatus = 'healthy' | 'suspect' | 'ejected' | 'probing';

/** Thresholds; all times in ms. */
export interface HealthThresholds {
  /** Consecutive passive failures that eject (default 5). */
  consecutiveErrors: number;
  /** Consecutive active-probe failures that eject (default 2). */
  unhealthyThreshold: number;
  /** Successes in `probing` that restore `healthy` (default 1). */
  healthyThreshold: number;
  /** First ejection length (default 10 000). */
  baseEjectionMs: number;
  /** Longest ejection (default 300 000). */
  maxEjectionMs: number;
}

/** Defaults quoted in the module comment. */
export const DEFAULT_HEALTH_THRESHOLDS: HealthThresholds = {
  consecutiveErrors: 5,
  unhealthyThreshold: 2,
  healthyThreshold: 1,
  baseEjectionMs: 10_000,
  maxEjectionMs: 300_000,
};

/** Mutable per-instance health record. */
export interface HealthState {
  status: HealthStatus;
  /** Consecutive passive failures. */
  failures: number;
  /** Consecutive active probe failures. */
  probeFailures: number;
  /** Consecutive successes while probing. */
  successes: number;
  /** Ejections so far (drives the backoff). */
  ejections: number;
  ejectedUntil: number;
  lastEjectAt: number;
}

/** A fresh, healthy record. */
export function newHealthState(): HealthState {
  return {
    status: 'healthy',
    failures: 0,
    probeFailures: 0,
    successes: 0,
    ejections: 0,
    ejectedUntil: 0,
    lastEjectAt: -Infinity,
  };
}

/** Whether real traffic may go to an instance in this state. */
export function isEligible(s: HealthState): boolean {
  return s.status !== 'ejected';
}

/** How an outcome was observed: `active` marks a probe result; `mayEject` is false when ejecting would exceed the pool's max_ejection_percent. */
export interface OutcomeKind {
  active?: boolean;
  mayEject?: boolean;
}

/**
 * Applies one outcome under thresholds `t`, which may carry how it was observed (OutcomeKind; a
 * passive outcome that may eject by default). Returns the new status when it changed, else undefined.
 */
export function recordOutcome(
  s: HealthState,
  ok: boolean,
  now: number,
  t: HealthThresholds & OutcomeKind,
): HealthStatus | undefined {
  const before = s.status;
  if (before === 'ejected') return undefined; // late results from before the ejection do not count
  if (ok) {
    if (t.active) s.probeFailures = 0;
    else s.failures = 0;
    if (before === 'probing') {
      s.successes++;
      if (s.successes >= t.healthyThreshold) s.status = 'healthy';
    } else if (before === 'suspect' && s.failures === 0 && s.probeFailures === 0) {
      s.status = 'healthy';
    }
  } else {
    s.successes = 0;
    if (t.active) s.probeFailures++;
    else s.failures++;
    const trip =
      before === 'probing' || s.failures >= t.consecutiveErrors || s.probeFailures >= t.unhealthyThreshold;
    if (trip && t.mayEject !== false) eject(s, now, t);
    else if (before === 'healthy') s.status = 'suspect';
  }
  return s.status !== before ? s.status : undefined;
}

/** Moves an expired ejection to `probing`; returns the new status when it changed. */
export function tickHealth(s: HealthState, now: number): HealthStatus | undefined {
  if (s.status === 'ejected' && now >= s.ejectedUntil) {
    s.status = 'probing';
    s.successes = 0;
    s.failures = 0;
    s.probeFailures = 0;
    return s.status;
  }
  return undefined;
}

function eject(s: HealthState, now: number, t: HealthThresholds): void {
  if (now - s.lastEjectAt > t.maxEjectionMs) s.ejections = 0;
  s.ejections++;
  s.status = 'ejected';
  s.ejectedUntil = now + Math.min(t.baseEjectionMs * 2 ** (s.ejections - 1), t.maxEjectionMs);
  s.lastEjectAt = now;
  s.failures = 0;
  s.probeFailures = 0;
  s.successes = 0;
}
