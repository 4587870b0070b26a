/**
 * The record stage. On the way in, the exchange becomes in flight: counted as offered in the signals,
 * counted for a graceful close, and watched for a client that leaves. Its work is in `leave`, which
 * runs last, once the exchange has ended however it ended: the signals (completed, or shed with a
 * reason), the access-log line, and the in-flight count.
 */
import type http from 'node:http';
import type { Stage } from './compose.js';
import type { Exchange } from './exchange.js';

/** record: in flight from here on; reported to signals and the access log when it ends. */
export const recordStage: Stage = { name: 'record', enter: track, leave: record };

const kExchange = Symbol('luascale.exchange');
type ResWithExchange = http.ServerResponse & { [kExchange]?: Exchange };

function track(ex: Exchange): void {
  const d = ex.route.data;
  ex.g.signals?.onStart(d.label, d.svc.name, undefined, ex.readyAt);
  ex.g.active++;
  (ex.res as ResWithExchange)[kExchange] = ex;
  ex.res.on('close', onResClose); // `on`, not `once`: 'close' fires once and `once` allocates a wrapper
  ex.next();
}

/** One shared 'close' listener (EventEmitter passes the response as `this`): no closure per request. */
function onResClose(this: ResWithExchange): void {
  const ex = this[kExchange];
  this[kExchange] = undefined;
  ex?.onClientClose();
}

function record(ex: Exchange): void {
  const g = ex.g;
  const d = ex.route.data;
  const status = ex.outcome;
  const latencyMs = ex.endedAt - ex.start;
  if (ex.dispatched) {
    // from `readyAt`: a buffered slow upload is the client's time, not the service's
    g.signals?.onEnd({
      at: ex.endedAt,
      route: d.label,
      service: d.svc.name,
      operationId: ex.route.operationId,
      instance: ex.firstInstance,
      status,
      latencyMs: ex.endedAt - ex.readyAt,
      bytesIn: ex.bytesIn,
      bytesOut: ex.bytesOut,
    });
  } else {
    g.signals?.onShed(d.label, d.svc.name, ex.shedReason || 'error');
  }
  g.accessLog?.log({
    requestId: ex.requestId,
    clientIp: ex.clientIp,
    method: ex.method,
    path: ex.url,
    route: d.label,
    service: d.svc.name,
    upstream: ex.lastInstance,
    status,
    bytesIn: ex.bytesIn,
    bytesOut: ex.bytesOut,
    durationMs: latencyMs,
    queuedMs: ex.queuedMs,
    upstreamMs: ex.upstreamMs,
    attempts: ex.attempts,
  });
  g.active--;
  if (g.active === 0 && g.idle !== undefined) {
    const idle = g.idle;
    g.idle = undefined;
    idle();
  }
}
