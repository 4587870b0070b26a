/** Small constructors for the outcomes built-ins return, so each policy reads as its formula. */
import type { PolicyOutcome } from '../policy.js';

/** A successful recommendation; `replicas` is rounded to a whole, non-negative count. */
export function recommend(
  replicas: number,
  reason: string,
  detail: Record<string, unknown>,
  { state, logs = [] }: { state?: Record<string, unknown>; logs?: string[] } = {},
): PolicyOutcome {
  const r = Number.isFinite(replicas) ? Math.max(0, Math.ceil(replicas - 1e-9)) : 0;
  return { ok: true, replicas: r, reason, raw: r, detail, state, logs, alerts: [] };
}

/** A failure the decision core reports as PolicyError (keeps the current count). */
export function failure(builtin: string, err: unknown): PolicyOutcome {
  const reason = err instanceof Error ? err.message : String(err);
  return {
    ok: false,
    code: 'LS_ERR_POLICY_RUNTIME',
    error: `builtin:${builtin}: ${reason}`,
    logs: [],
    alerts: [],
  };
}
