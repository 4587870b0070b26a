/**
 * `llm-admit`: admission for AI services served by their own instances (issue 20, scale from zero).
 * The front door (`llm` stage) answers an AI request itself, so without this stage its requests
 * never met the service's admission: with 0 ready instances they failed at once ("no ready
 * instance"). Placed right before `llm`, this stage runs the admit stage's admission for those
 * services, so a request waits in the service's bounded, deadline-aware queue while the first
 * instance starts (Knative's activator), exactly as a plain service's request does:
 *
 *   ready instance, slot free ─▶ permit ─▶ llm (front door)
 *   0 ready / all busy ──────▶ queue ── instance ready (health + warm-up) ─▶ permit ─▶ llm
 *                                    └─ queue timeout ─▶ 503 + Retry-After
 *   queue full ──────────────▶ 429 + Retry-After (model clients back off and retry on 429;
 *                              issue 20: "when the queue is full, 429 with Retry-After")
 *
 * Other services pass through (one Set lookup); the permit is released by the admit stage's `leave`.
 */
import type { Stage } from '../../gateway/pipeline/compose.js';
import type { Exchange } from '../../gateway/pipeline/exchange.js';
import { admitStage } from '../../gateway/pipeline/admit-stage.js';
import { internalError } from '../../gateway/pipeline/send-error.js';
import type { AdmitResult } from '../../gateway/seams.js';

/** The `llm-admit` stage over the named AI services (those with an `instances` backend). */
export function createLlmAdmitStage(services: ReadonlySet<string>): Stage {
  return {
    name: 'llm-admit',
    enter(ex) {
      const d = ex.route.data;
      if (!services.has(d.svc.name)) return ex.next();
      // A route with limits of its own: the admit stage's full path (route, then service).
      if (d.admission !== undefined) return admitStage.enter(ex);
      let verdict: AdmitResult | Promise<AdmitResult>;
      try {
        verdict = d.svc.admission.admit({
          key: d.svc.keyOf(ex.req, ex.clientIp, d.label, ex.consumer),
          route: d.label,
          now: ex.readyAt,
        });
      } catch (err) {
        return failed(ex, err);
      }
      if (verdict instanceof Promise)
        verdict.then(
          (v) => onVerdict(ex, v),
          (err) => failed(ex, err),
        );
      else onVerdict(ex, verdict);
    },
    leave: admitStage.leave,
  };
}

function onVerdict(ex: Exchange, v: AdmitResult): void {
  try {
    const d = ex.route.data;
    if (!v.ok) {
      ex.shedReason = v.reason;
      ex.reply(
        v.code,
        { service: d.svc.name, ms: ex.g.clock.now() - ex.start, ...v.params },
        {
          headers: v.headers,
          status: v.reason === 'queue_full' ? 429 : v.status,
          retryAfterS: v.retryAfterS,
        },
      );
      return ex.finish();
    }
    ex.queuedMs += v.queuedMs;
    if (v.headers !== undefined) ex.admitHeaders = { ...ex.admitHeaders, ...v.headers };
    ex.permit = v.permit;
    if (ex.res.destroyed) {
      ex.shedReason = 'client_gone'; // gave up while queued
      return ex.finish();
    }
    d.retryBudget.deposit(ex.readyAt);
    ex.next();
  } catch (err) {
    internalError(ex.res, err);
    ex.finish();
  }
}

function failed(ex: Exchange, err: unknown): void {
  ex.shedReason = 'admission_error';
  ex.reply('LS_ERR_GATEWAY_UPSTREAM_ERROR', { reason: `admission failed: ${(err as Error)?.message}` });
  ex.finish();
}
