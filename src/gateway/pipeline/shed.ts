/** Requests turned away before the record stage (by authenticate or validate). */
import type { Exchange } from './exchange.js';

/** Turned away before the record stage: counted as offered and shed (`reason`), then answered. */
export function shed(ex: Exchange, reason: string, ...reply: Parameters<Exchange['reply']>): void {
  const d = ex.route.data;
  ex.g.signals?.onStart(d.label, d.svc.name);
  ex.g.signals?.onShed(d.label, d.svc.name, reason);
  ex.reply(...reply);
  ex.finish();
}
