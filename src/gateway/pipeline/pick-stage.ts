/**
 * The pick stage: the service's balancer chooses an instance (503 with Retry-After when none is
 * eligible). It starts each attempt, so a retry comes back here with the failed instance excluded.
 */
import type { Stage } from './compose.js';
import type { Exchange } from './exchange.js';

/** pick: one instance per attempt; the attempt is begun on it (its in-flight count). */
export const pickStage: Stage = { name: 'pick', enter: pick };

function pick(ex: Exchange): void {
  if (ex.attempts === 0) ex.attemptStep = ex.step - 1;
  const svc = ex.route.data.svc;
  const now = ex.g.clock.now();
  const ctx = svc.pickContext;
  ctx.now = now;
  ctx.hashKey = svc.hashKeyOf === undefined ? undefined : svc.hashKeyOf(ex.req, ex.clientIp);
  ctx.request = ex.req;
  const inst = svc.pool.pick(ctx, ex.exclude);
  ctx.hashKey = undefined;
  ctx.request = undefined;
  if (inst === undefined) {
    if (ex.attempts === 0) ex.shedReason = 'no_upstream';
    ex.reply('LS_ERR_GATEWAY_NO_UPSTREAM', { service: svc.name }, { headers: { 'retry-after': '1' } });
    return ex.finish();
  }
  ex.inst = inst;
  if (ex.attempts === 0) {
    ex.firstInstance = inst.id;
    ex.g.signals?.onDispatch?.(svc.name, inst.id, now);
  }
  ex.attempts++;
  ex.attemptStart = now;
  ex.dispatched = true;
  svc.pool.begin(inst);
  ex.next();
}
