/**
 * Header rewriting for a forwarding proxy, one pass over the raw header list (no object built):
 * - Hop-by-hop fields are not forwarded (RFC 9110 §7.6.1): Connection, every field it names, and
 *   Proxy-Connection, Keep-Alive, TE, Transfer-Encoding, Upgrade, HTTP2-Settings (RFC 7540 §3.2.1;
 *   node's HTTP/2 response refuses it, throwing). Transfer-Encoding and framing are
 *   re-done per hop (RFC 9112 §6.1, §7); Expect is answered by this hop (RFC 9110 §10.1.1: node
 *   sends the 100 Continue itself) so it is not forwarded either.
 * - Via: each proxy appends `<protocol-version> <pseudonym>` (RFC 9110 §7.6.3), both directions.
 * - Forwarded (RFC 7239 §4, §5, §6: IPv6 quoted in brackets) and the de-facto X-Forwarded-For /
 *   -Proto / -Host: appended to (with the peer's address) when the peer is a trusted proxy
 *   (`trusted_proxies`, trusted-proxies.ts), else replaced, so a client cannot forge its address.
 * - Host must appear exactly once with a valid value (RFC 9112 §3.2: otherwise 400).
 */

/** Forwarding policy. */
export interface ForwardOptions {
  /** Append to incoming Forwarded/X-Forwarded-* (the peer is a trusted proxy). */
  trust: boolean;
  /** Via pseudonym (RFC 9110 §7.6.3 received-by); default `luascale`. */
  via: string;
  /** The scheme clients used (X-Forwarded-Proto, Forwarded proto=): `https` when the listener terminates TLS. */
  scheme: 'http' | 'https';
}

/** Result of rewriting request headers. */
export interface ForwardedRequestHeaders {
  /** Flat [name, value, ...] list for undici. */
  headers: string[];
  /** The Host value, or undefined when missing, duplicated or invalid (answer 400). */
  host: string | undefined;
  /** Incoming X-Request-Id, if any. */
  requestId: string | undefined;
  /** Content-Length value, if any (node's parser already rejected duplicates and CL+TE). */
  contentLength: string | undefined;
  /** Whether Transfer-Encoding was present (a chunked body follows). */
  chunked: boolean;
  /** The incoming X-Forwarded-For values, comma-joined (read only from trusted proxies). */
  xForwardedFor: string | undefined;
  /** The incoming Forwarded values, comma-joined (read only from trusted proxies). */
  forwarded: string | undefined;
}

// uri-host [":" port] (RFC 9110 §7.2 / RFC 3986 §3.2.2): reg-name / IPv4 / IP-literal.
const HOST_RE = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-._~!$&'()*+,;=%]+)(?::\d{1,5})?$/;
// RFC 9110 §5.6.2 token: a Forwarded value that is not one must be a quoted-string.
const TOKEN_RE = /^[A-Za-z0-9!#$%&'*+\-.^_`|~]+$/;
// Request ids we pass through: visible ASCII, bounded length; anything else is replaced.
const REQUEST_ID_RE = /^[\x21-\x7e]{1,200}$/;

/** Whether a Host header value is syntactically valid. */
export function isValidHost(host: string): boolean {
  return host.length <= 255 && HOST_RE.test(host);
}

/**
 * Rewrites `raw` (node's req.rawHeaders) for the upstream. One pass over the list, kept whole on
 * purpose: it runs per request, and splitting the switch would spread one RFC table over files. `requestId` is appended if the client
 * sent none (call with undefined to only inspect). The caller adds X-Request-Id when it generated one.
 */
export function forwardRequestHeaders(
  raw: readonly string[],
  peerIp: string,
  httpVersion: string,
  opts: ForwardOptions,
): ForwardedRequestHeaders {
  const out: string[] = [];
  let host: string | undefined;
  let hostCount = 0;
  let requestId: string | undefined;
  let via: string | undefined;
  let xff: string | undefined;
  let xfh: string | undefined;
  let xfp: string | undefined;
  let fwd: string | undefined;
  let connection: string | undefined;
  let contentLength: string | undefined;
  let chunked = false;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const value = raw[i + 1]!;
    const len = name.length;
    // Only names of these lengths can need handling; everything else is copied untouched.
    if (
      len <= 4 ||
      len === 6 ||
      len === 7 ||
      len === 9 ||
      len === 10 ||
      len === 12 ||
      (len >= 14 && len <= 17)
    ) {
      const lower = name.toLowerCase();
      switch (lower) {
        case 'content-length':
          contentLength = value;
          out.push(name, value);
          continue;
        case 'transfer-encoding':
          chunked = true;
          continue;
        case 'host':
          hostCount++;
          host = value;
          out.push(name, value);
          continue;
        case 'connection':
          connection = connection === undefined ? value : `${connection}, ${value}`;
          continue;
        case 'keep-alive':
        case 'proxy-connection':
        case 'te':
        case 'trailer':
        case 'upgrade':
        case 'http2-settings':
        case 'expect':
          continue;
        case 'x-request-id':
          if (requestId === undefined && REQUEST_ID_RE.test(value)) {
            requestId = value;
            out.push(name, value);
          }
          continue;
        case 'via':
          via = via === undefined ? value : `${via}, ${value}`;
          continue;
        case 'x-forwarded-for':
          xff = xff === undefined ? value : `${xff}, ${value}`;
          continue;
        case 'x-forwarded-host':
          if (xfh === undefined) xfh = value;
          continue;
        case 'x-forwarded-proto':
          if (xfp === undefined) xfp = value;
          continue;
        case 'forwarded':
          fwd = fwd === undefined ? value : `${fwd}, ${value}`;
          continue;
      }
    }
    out.push(name, value);
  }
  if (connection !== undefined) dropConnectionListed(out, connection);
  const own = viaValue(httpVersion, opts.via);
  out.push('via', via !== undefined ? `${via}, ${own}` : own);
  const ok = hostCount === 1 && host !== undefined && isValidHost(host);
  const hostValue = ok ? host! : '';
  const trust = opts.trust;
  // This hop records the address it received the request from (the peer), as every proxy does.
  out.push('x-forwarded-for', trust && xff !== undefined ? `${xff}, ${peerIp}` : peerIp);
  out.push('x-forwarded-proto', trust && xfp !== undefined ? xfp : opts.scheme);
  out.push('x-forwarded-host', trust && xfh !== undefined ? xfh : hostValue);
  const element = forwardedElement(peerIp, hostValue, opts.scheme);
  out.push('forwarded', trust && fwd !== undefined ? `${fwd}, ${element}` : element);
  return {
    headers: out,
    host: ok ? host : undefined,
    requestId,
    contentLength,
    chunked,
    xForwardedFor: xff,
    forwarded: fwd,
  };
}

// The pseudonym is fixed per gateway: build `<protocol-version> <pseudonym>` once per version
// instead of a new string per request and direction.
let viaPseudonym = '';
let via10 = '';
let via11 = '';
let via2 = '';

/** This hop's Via element (RFC 9110 §7.6.3) for node's `httpVersion` ('1.0', '1.1' or '2.0': HTTP/2 is "2"). */
function viaValue(httpVersion: string, pseudonym: string): string {
  if (pseudonym !== viaPseudonym) {
    viaPseudonym = pseudonym;
    via10 = `1.0 ${pseudonym}`;
    via11 = `1.1 ${pseudonym}`;
    via2 = `2 ${pseudonym}`;
  }
  return httpVersion === '1.0' ? via10 : httpVersion === '2.0' ? via2 : via11;
}

// Clients send many requests in a row with the same address and Host: remember the last element
// instead of rebuilding it (a regex test and a replace per request, ~1 % of the proxy's CPU).
let lastIp = '';
let lastHost = '';
let lastScheme = '';
let lastElement = '';

/** One RFC 7239 forwarded-element: `for=...;host=...;proto=http`, quoting where §4/§6 require. */
export function forwardedElement(clientIp: string, host: string, scheme = 'http'): string {
  if (clientIp === lastIp && host === lastHost && scheme === lastScheme && lastElement !== '')
    return lastElement;
  lastIp = clientIp;
  lastHost = host;
  lastScheme = scheme;
  lastElement = buildForwardedElement(clientIp, host, scheme);
  return lastElement;
}

function buildForwardedElement(clientIp: string, host: string, scheme: string): string {
  const forPart = clientIp.includes(':') ? `"[${clientIp}]"` : clientIp;
  // host contains ':' (a port) or other non-token chars: quoted-string (RFC 7239 §4, RFC 9110 §5.6.4).
  const hostPart = TOKEN_RE.test(host) ? host : `"${host.replace(/["\\]/g, '\\$&')}"`;
  return host ? `for=${forPart};host=${hostPart};proto=${scheme}` : `for=${forPart};proto=${scheme}`;
}

/** Fields named in Connection are hop-by-hop too (RFC 9110 §7.6.1). */
function dropConnectionListed(out: string[], connection: string): void {
  // The usual values name no other field: skip the split (every nginx response says keep-alive).
  if (connection.length <= 10) {
    const v = connection.toLowerCase();
    if (v === 'keep-alive' || v === 'close' || v === 'upgrade') return;
  }
  const named = new Set<string>();
  for (const t of connection.split(',')) {
    const token = t.trim().toLowerCase();
    if (token && token !== 'close' && token !== 'keep-alive') named.add(token);
  }
  if (named.size === 0) return;
  let w = 0;
  for (let r = 0; r < out.length; r += 2) {
    if (named.has(out[r]!.toLowerCase())) continue;
    out[w++] = out[r]!;
    out[w++] = out[r + 1]!;
  }
  out.length = w;
}

/**
 * Rewrites upstream response headers (undici's raw Buffer list) for the client: hop-by-hop fields
 * and those named in Connection are dropped (RFC 9110 §7.6.1), Via is appended with the version
 * the response was received in (§7.6.3: `2` from an HTTP/2 upstream), and X-Request-Id is echoed
 * when the upstream did not send one.
 */
export function forwardResponseHeaders(
  raw: readonly (Buffer | string)[],
  requestId: string,
  via: string,
  httpVersion: '1.1' | '2.0' = '1.1',
): string[] {
  const out: string[] = [];
  let connection: string | undefined;
  let upstreamVia: string | undefined;
  let hasRequestId = false;
  for (let i = 0; i < raw.length; i += 2) {
    // undici hands Buffers, the lean client (node's parser) latin1 strings already.
    const name = latin1(raw[i]!);
    const value = latin1(raw[i + 1]!);
    const len = name.length;
    if (
      len === 2 ||
      len === 3 ||
      len === 7 ||
      len === 10 ||
      len === 12 ||
      len === 14 ||
      len === 16 ||
      len === 17
    ) {
      switch (name.toLowerCase()) {
        case 'connection':
          connection = connection === undefined ? value : `${connection}, ${value}`;
          continue;
        case 'keep-alive':
        case 'proxy-connection':
        case 'te':
        case 'trailer':
        case 'transfer-encoding':
        case 'upgrade':
        case 'http2-settings':
          continue;
        case 'via':
          upstreamVia = upstreamVia === undefined ? value : `${upstreamVia}, ${value}`;
          continue;
        case 'x-request-id':
          hasRequestId = true;
          break;
      }
    }
    out.push(name, value);
  }
  if (connection !== undefined) dropConnectionListed(out, connection);
  const own = viaValue(httpVersion, via);
  out.push('via', upstreamVia !== undefined ? `${upstreamVia}, ${own}` : own);
  if (!hasRequestId) out.push('x-request-id', requestId);
  return out;
}

function latin1(x: Buffer | string): string {
  return typeof x === 'string' ? x : x.toString('latin1');
}
