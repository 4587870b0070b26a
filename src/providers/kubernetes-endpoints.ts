/**
 * Pure helpers of the kubernetes provider: EndpointSlices → the endpoints luascale can route to,
 * and Kubernetes API errors → LuascaleErrors that name the missing RBAC permission.
 */
import { LuascaleError } from '../core/errors.js';

/** The subset of a discovery.k8s.io/v1 EndpointSlice the provider reads. */
export interface SliceLike {
  metadata?: { name?: string; resourceVersion?: string };
  addressType?: string;
  endpoints?: Array<{
    addresses?: string[];
    conditions?: { ready?: boolean; serving?: boolean; terminating?: boolean };
    targetRef?: { kind?: string; name?: string };
  }>;
  ports?: Array<{ name?: string; port?: number; protocol?: string }> | null;
}

/** One routable address behind the Service. */
export interface Endpoint {
  /** The pod name (targetRef), or the address when the endpoint has no targetRef. */
  key: string;
  url: string;
  ready: boolean;
  terminating: boolean;
}

/**
 * Merges the slices of one Service into endpoints keyed by pod. `port` picks the slice port by
 * name or number (default: the slice's first port). Per discovery.k8s.io/v1, a nil `ready`
 * means "unknown" and consumers should treat it as ready; a terminating endpoint is never routed.
 * FQDN slices are skipped: luascale routes to pod addresses.
 */
export function endpointsOf(
  slices: Iterable<SliceLike>,
  options: { port?: string | number; scheme?: string } = {},
): Map<string, Endpoint> {
  const out = new Map<string, Endpoint>();
  const scheme = options.scheme ?? 'http';
  for (const slice of slices) {
    if (slice.addressType === 'FQDN') continue;
    const ports = slice.ports ?? [];
    const port =
      options.port === undefined
        ? ports[0]?.port
        : typeof options.port === 'number'
          ? (ports.find((p) => p.port === options.port)?.port ?? options.port)
          : ports.find((p) => p.name === options.port)?.port;
    if (port === undefined) continue;
    for (const ep of slice.endpoints ?? []) {
      const address = ep.addresses?.[0];
      if (!address) continue;
      const key = ep.targetRef?.name ?? address;
      const host = address.includes(':') ? `[${address}]` : address;
      const terminating = ep.conditions?.terminating === true;
      const ready = !terminating && ep.conditions?.ready !== false;
      const prev = out.get(key);
      // A pod can sit in two slices for a moment while the controller moves it: ready wins.
      if (prev && prev.ready && !ready) continue;
      out.set(key, { key, url: `${scheme}://${host}:${port}`, ready, terminating });
    }
  }
  return out;
}

/** What was being attempted when an API call failed. */
export interface ApiCall {
  service: string;
  verb: string;
  resource: string;
  namespace: string;
  method: string;
  path: string;
}

/** Turns a client-node ApiException (or a network error) into a LuascaleError; 403 names the RBAC rule. */
export function apiError(err: unknown, call: ApiCall): LuascaleError {
  const code =
    (err as { code?: unknown; statusCode?: unknown }).code ?? (err as { statusCode?: unknown }).statusCode;
  const status = typeof code === 'number' ? code : undefined;
  const message = statusMessage(err);
  if (status === 403) {
    return new LuascaleError('LS_ERR_PROVIDER_FORBIDDEN', {
      service: call.service,
      verb: call.verb,
      resource: call.resource,
      namespace: call.namespace,
      reason: message,
    });
  }
  const reason =
    status === undefined
      ? message
      : status === 401
        ? '401 Unauthorized: the token or client certificate was rejected'
        : `${status} ${message}`;
  return new LuascaleError('LS_ERR_PROVIDER_API', {
    service: call.service,
    method: call.method,
    path: call.path,
    reason,
  });
}

/** The HTTP status of a client-node error, if it has one. */
export function statusOf(err: unknown): number | undefined {
  const code =
    (err as { code?: unknown; statusCode?: unknown })?.code ?? (err as { statusCode?: unknown })?.statusCode;
  return typeof code === 'number' ? code : undefined;
}

function statusMessage(err: unknown): string {
  let body = (err as { body?: unknown }).body;
  if (typeof body === 'string') {
    try {
      body = JSON.parse(body);
    } catch {
      return (body as string).slice(0, 300);
    }
  }
  const m = (body as { message?: unknown } | undefined)?.message;
  if (typeof m === 'string') return m;
  const cause = (err as { cause?: { code?: string } }).cause?.code;
  const msg = err instanceof Error ? err.message.split('\n')[0]! : String(err);
  return cause ? `${msg} (${cause})` : msg;
}
