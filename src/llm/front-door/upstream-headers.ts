/**
 * The request headers a backend gets. The service's own instances get the client's headers (hop-by-hop
 * and the API key already removed by the route and authenticate stages) without the framing and
 * encoding ones the front door sets itself (the body may be rewritten; the answer must be readable
 * to relay and meter it), and the instance's own `host` (as undici would set it). A hosted provider gets only what its API needs: the content type, the
 * request id, Anthropic's version headers, and its key from the environment.
 */
import type { Exchange } from '../../gateway/pipeline/exchange.js';
import type { UpstreamInstance } from '../../gateway/upstream-pool.js';
import { ANTHROPIC_VERSION, type Backend } from './backends.js';

const DROP = new Set([
  'host',
  'content-length',
  'transfer-encoding',
  'accept-encoding',
  'expect',
  'content-type',
]);
const JSON_TYPE = ['content-type', 'application/json'];
/** An instance's `host` header (its URL's host; the lean client sets none of its own). */
const hosts = new WeakMap<UpstreamInstance, string>();

/** Flat name/value headers for a request to `b` (`inst`: the instance picked for an instances backend). */
export function upstreamHeaders(ex: Exchange, b: Backend, inst?: UpstreamInstance): string[] {
  if (b.kind === 'instances') {
    const out = [...JSON_TYPE];
    if (inst !== undefined) {
      let host = hosts.get(inst);
      if (host === undefined) hosts.set(inst, (host = new URL(inst.url).host));
      out.push('host', host);
    }
    const h = ex.headers;
    for (let i = 0; i < h.length; i += 2) if (!DROP.has(h[i]!.toLowerCase())) out.push(h[i]!, h[i + 1]!);
    if (b.format === 'anthropic' && ex.req.headers['anthropic-version'] === undefined)
      out.push('anthropic-version', ANTHROPIC_VERSION);
    return out;
  }
  const out = [...JSON_TYPE, 'x-request-id', ex.requestId];
  if (b.format === 'anthropic') {
    const beta = ex.req.headers['anthropic-beta'];
    if (typeof beta === 'string') out.push('anthropic-beta', beta);
  }
  for (const v of b.auth) out.push(v);
  return out;
}
