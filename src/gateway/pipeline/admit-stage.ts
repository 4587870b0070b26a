/**
 * The admit stage: asks the route's own admission, when the route sets limits of its own
 * (`routes[].traffic` rate_limit / concurrency / queue, or an OpenAPI `x-luascale-rate-limit`), and
 * then the service's admission (rate limit → concurrency → bounded queue) for a verdict, each at once
 * or later when queued. A route limit applies in addition to the service's: a request passes both.
 * A shed request is answered 429/503 with Retry-After and RateLimit-* headers (the tighter quota's);
 * an admitted one holds its permits until the exchange ends, released in `leave` with the outcome
 * (which feeds the adaptive concurrency limit).
 */
import type { AdmitResult } from '../seams.js';
import type { Stage } from './compose.js';
import type { Exchange } from './exchange.js';
import { internalError } from './send-error.js';

/** admit: admission control; holds the permits until the exchange ends. */
export const admitStage: Stage = { name: 'admit', enter: admit, leave: release };

function admit(ex: Exchange): void {
  const d = ex.route.data;
  const ra = d.admission;
  if (ra === undefined) return admitService(ex);
  let verdict: AdmitResult | Promise<AdmitResult>;
  try {
    verdict = ra.admit({
      key: d.keyOf!(ex.req, ex.clientIp, d.label, ex.consumer),
      route: d.label,
      now: ex.readyAt,
    });
  } catch (err) {
    return onVerdict(ex, err, true);
  }
  if (verdict instanceof Promise)
    verdict.then(
      (v) => onVerdict(ex, v, true),
      (err) => onVerdict(ex, err, true),
    );
  else onVerdict(ex, verdict, true);
}

function admitService(ex: Exchange): void {
  const d = ex.route.data;
  const svc = d.svc;
  let verdict: AdmitResult | Promise<AdmitResult>;
  try {
    verdict = svc.admission.admit({
      key: svc.keyOf(ex.req, ex.clientIp, d.label, ex.consumer),
      route: d.label,
      // after a wait at the route's queue, the service's queue starts counting from now
      now: ex.routePermit === undefined ? ex.readyAt : ex.g.clock.now(),
    });
  } catch (err) {
    return onVerdict(ex, err, false);
  }
  // Closures only for a verdict that waits (queued, or a remote limiter): the common case has none.
  if (verdict instanceof Promise)
    verdict.then(
      (v) => onVerdict(ex, v, false),
      (err) => onVerdict(ex, err, false),
    );
  else onVerdict(ex, verdict, false);
}

/** Both outcomes of admission (a verdict, or an exception / rejection) end up here. */
function onVerdict(ex: Exchange, v: AdmitResult | unknown, atRoute: boolean): void {
  if (v === null || typeof v !== 'object' || !('ok' in v)) return admissionFailed(ex, v);
  try {
    admitted(ex, v as AdmitResult, atRoute);
  } catch (err) {
    // An exception here would otherwise become an unhandled rejection.
    internalError(ex.res, err);
    ex.finish();
  }
}

function admitted(ex: Exchange, v: AdmitResult, atRoute: boolean): void {
  const d = ex.route.data;
  if (!v.ok) {
    ex.shedReason = v.reason;
    ex.reply(
      v.code,
      { service: d.svc.name, ms: ex.g.clock.now() - ex.start, ...v.params },
      { headers: tighter(ex.admitHeaders, v.headers), status: v.status, retryAfterS: v.retryAfterS },
    );
    return ex.finish();
  }
  ex.queuedMs += v.queuedMs;
  ex.admitHeaders = tighter(ex.admitHeaders, v.headers);
  if (atRoute) ex.routePermit = v.permit;
  else ex.permit = v.permit;
  if (ex.res.destroyed) {
    ex.shedReason = 'client_gone'; // gave up while queued
    return ex.finish();
  }
  if (atRoute) return admitService(ex);
  d.retryBudget.deposit(ex.readyAt);
  if (ex.expectContinue) ex.res.writeContinue();
  ex.next();
}

/**
 * The RateLimit-* headers of the tighter quota (fewer requests remaining) when both the route and
 * the service report one; a denial's headers (with Retry-After) win over an earlier pass's.
 */
function tighter(
  a: Record<string, string> | undefined,
  b: Record<string, string> | undefined,
): Record<string, string> | undefined {
  if (a === undefined || !('ratelimit-remaining' in a)) return b;
  if (b === undefined || !('ratelimit-remaining' in b)) {
    if (b === undefined) return a;
    for (const k in a) if (!(k in b)) b[k] = a[k]!; // e.g. a 503's Retry-After with the route's quota
    return b;
  }
  if ('retry-after' in b) return b;
  return Number(b['ratelimit-remaining']) < Number(a['ratelimit-remaining']) ? b : a;
}

function admissionFailed(ex: Exchange, err: unknown): void {
  ex.shedReason = 'admission_error';
  ex.reply('LS_ERR_GATEWAY_UPSTREAM_ERROR', { reason: `admission failed: ${(err as Error)?.message}` });
  ex.finish();
}

function release(ex: Exchange): void {
  const status = ex.outcome;
  const outcome = { ok: status > 0 && status < 500, rttMs: ex.upstreamMs || ex.endedAt - ex.readyAt };
  const permit = ex.permit;
  if (permit !== undefined) {
    ex.permit = undefined;
    permit.release(outcome);
  }
  const routePermit = ex.routePermit;
  if (routePermit !== undefined) {
    ex.routePermit = undefined;
    routePermit.release(outcome);
  }
}
