/**
 * The admit stage: asks the service's admission (rate limit → concurrency → bounded queue) for a
 * verdict, at once or later when queued. A shed request is answered 429/503 with Retry-After and
 * RateLimit-* headers; an admitted one holds a permit until the exchange ends, released in `leave`
 * with the outcome (which feeds the adaptive concurrency limit).
 */
import type { AdmitResult } from '../seams.js';
import type { Stage } from './compose.js';
import type { Exchange } from './exchange.js';
import { internalError } from './send-error.js';

/** admit: admission control; holds the permit until the exchange ends. */
export const admitStage: Stage = { name: 'admit', enter: admit, leave: release };

function admit(ex: Exchange): void {
  const d = ex.route.data;
  const svc = d.svc;
  let verdict: AdmitResult | Promise<AdmitResult>;
  try {
    verdict = svc.admission.admit({
      key: svc.keyOf(ex.req, ex.clientIp, d.label),
      route: d.label,
      now: ex.start,
    });
  } catch (err) {
    return onVerdict(ex, err);
  }
  // Closures only for a verdict that waits (queued, or a remote limiter): the common case has none.
  if (verdict instanceof Promise)
    verdict.then(
      (v) => onVerdict(ex, v),
      (err) => onVerdict(ex, err),
    );
  else onVerdict(ex, verdict);
}

/** Both outcomes of admission (a verdict, or an exception / rejection) end up here. */
function onVerdict(ex: Exchange, v: AdmitResult | unknown): void {
  if (v === null || typeof v !== 'object' || !('ok' in v)) return admissionFailed(ex, v);
  try {
    admitted(ex, v as AdmitResult);
  } catch (err) {
    // An exception here would otherwise become an unhandled rejection.
    internalError(ex.res, err);
    ex.finish();
  }
}

function admitted(ex: Exchange, v: AdmitResult): void {
  const d = ex.route.data;
  if (!v.ok) {
    ex.shedReason = v.reason;
    ex.reply(
      v.code,
      { service: d.svc.name, ms: ex.g.clock.now() - ex.start },
      { headers: v.headers, status: v.status, retryAfterS: v.retryAfterS },
    );
    return ex.finish();
  }
  ex.permit = v.permit;
  ex.queuedMs = v.queuedMs;
  ex.admitHeaders = v.headers;
  if (ex.res.destroyed) {
    ex.shedReason = 'client_gone'; // gave up while queued
    return ex.finish();
  }
  d.svc.retryBudget.deposit(ex.start);
  if (ex.expectContinue) ex.res.writeContinue();
  ex.next();
}

function admissionFailed(ex: Exchange, err: unknown): void {
  ex.shedReason = 'admission_error';
  ex.reply('LS_ERR_GATEWAY_UPSTREAM_ERROR', { reason: `admission failed: ${(err as Error)?.message}` });
  ex.finish();
}

function release(ex: Exchange): void {
  const permit = ex.permit;
  if (permit === undefined) return;
  ex.permit = undefined;
  const status = ex.outcome;
  permit.release({ ok: status > 0 && status < 500, rttMs: ex.upstreamMs || ex.endedAt - ex.start });
}
