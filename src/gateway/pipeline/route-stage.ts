/**
 * The route stage: rewrites the request headers for forwarding (one pass, RFC 9110 §7.6), finds the
 * client's address behind a trusted proxy, fixes the request id, reduces the target to origin-form,
 * checks Host, normalises the path (normalise-path.ts) and matches a route (404 when none).
 */
import { forwardRequestHeaders } from '../forward-headers.js';
import { adaptH2Exchange, h2RawHeaders } from '../http2/h2-request.js';
import { clientAddress } from '../trusted-proxies.js';
import type { Stage } from './compose.js';
import type { Exchange } from './exchange.js';
import { normalisePath } from '../../core/normalise-path.js';

/** route: the first stage; everything after it may rely on `ex.route`. */
export const routeStage: Stage = { name: 'route', enter: route };

function route(ex: Exchange): void {
  const g = ex.g;
  const req = ex.req;
  const trusted = g.trusted !== undefined && g.trusted.trusts(ex.peerIp);
  const h2 = req.httpVersionMajor === 2;
  const fh = forwardRequestHeaders(
    h2 ? h2RawHeaders(req) : req.rawHeaders,
    ex.peerIp,
    req.httpVersion,
    trusted ? g.forwardTrusted : g.forward,
  );
  if (trusted) ex.clientIp = clientAddress(ex.peerIp, fh, g.trusted!);
  let requestId = fh.requestId;
  if (requestId === undefined) {
    requestId = g.ids();
    fh.headers.push('x-request-id', requestId);
  }
  ex.requestId = requestId;
  ex.headers = fh.headers;
  ex.contentLength = fh.contentLength;
  ex.chunked = fh.chunked;
  if (h2) adaptH2Exchange(ex);
  if (g.closing) ex.res.shouldKeepAlive = false;
  let url = req.url ?? '/';
  if (url.charCodeAt(0) !== 47) {
    // absolute-form (RFC 9112 §3.2.2) is accepted and reduced to origin-form; authority-form and
    // asterisk-form are not meaningful for a reverse proxy.
    const m = /^https?:\/\/[^/?#]+(.*)$/i.exec(url);
    if (m === null) return refuse(ex, 'request-target must be origin-form');
    url = m[1] === '' ? '/' : m[1]!.charCodeAt(0) === 47 ? m[1]! : '/' + m[1];
  }
  // RFC 9112 §3.2: exactly one Host with a valid value, else 400.
  if (fh.host === undefined && req.httpVersion !== '1.0')
    return refuse(ex, 'missing, duplicated or invalid Host');
  // RFC 9112 §3.2: a request-target has no fragment (node's parser lets `#` through).
  if (url.includes('#')) return refuse(ex, 'a request-target holds no fragment (#)');
  let q = url.indexOf('?');
  // Matched (and validated) in its RFC 3986 §6.2.2 normal form, so equivalent spellings are one route.
  const norm = normalisePath(q < 0 ? url : url.slice(0, q));
  if ('refused' in norm) return refuse(ex, norm.refused);
  const path = norm.path;
  if (norm.dotSegments) {
    // `/a/../admin` is routed as `/admin`, so it is sent on as `/admin`: the instance serves the
    // resource the route (and its auth and limits) was chosen for.
    const query = q < 0 ? '' : url.slice(q);
    url = path + query;
    q = query === '' ? -1 : path.length;
  }
  const method = req.method!;
  ex.method = method;
  ex.url = url;
  ex.path = path;
  ex.query = q;
  const match = g.router.match(method, fh.host, path);
  if (match === undefined) {
    ex.reply('LS_ERR_GATEWAY_NO_ROUTE', { method, path });
    return ex.finish();
  }
  ex.route = match;
  ex.next();
}

function refuse(ex: Exchange, reason: string): void {
  ex.reply('LS_ERR_GATEWAY_BAD_REQUEST', { reason });
  ex.finish();
}
