/// <reference lib="dom" />
/**
 * The dashboard's only way to the program: the admin API over HTTP (house style: "the dashboard
 * talks to the admin API over HTTP only"). The token lives in sessionStorage and goes out as
 * `Authorization: Bearer`; EventSource cannot set headers, so the stream takes `?access_token=`.
 */
import type {
  AdminEvent,
  ConsumerBudgets,
  EvalRequest,
  EvalResult,
  EventPage,
  MetricSeries,
  ScaleRequest,
  ServiceDetail,
  ServiceSummary,
  UsageSummary,
} from './api-types.js';

const TOKEN_KEY = 'luascale.token';

/** An API error with the server's stable code (`LS_ERR_ADMIN_UNAUTHORIZED`, ...). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** The token saved by the login form, or '' . */
export function savedToken(): string {
  return sessionStorage.getItem(TOKEN_KEY) ?? '';
}

/** Saves (or, with '', forgets) the token for this tab. */
export function saveToken(token: string): void {
  if (token) sessionStorage.setItem(TOKEN_KEY, token);
  else sessionStorage.removeItem(TOKEN_KEY);
}

/** Typed calls to the admin API, relative to the page's origin. */
export function createApiClient(base = '') {
  async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = {};
    const token = savedToken();
    if (token) headers.authorization = `Bearer ${token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(base + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    const json = text ? (JSON.parse(text) as unknown) : null;
    if (!res.ok) {
      const err = (json as { error?: { code?: string; message?: string } } | null)?.error;
      throw new ApiError(res.status, err?.code ?? `HTTP_${res.status}`, err?.message ?? res.statusText);
    }
    return json as T;
  }
  const svc = (name: string) => `/v1/services/${encodeURIComponent(name)}`;
  return {
    services: () => call<ServiceSummary[]>('GET', '/v1/services'),
    service: (name: string) => call<ServiceDetail>('GET', svc(name)),
    scale: (name: string, body: ScaleRequest) => call<{ ok: boolean }>('POST', `${svc(name)}/scale`, body),
    clearScale: (name: string) => call<{ ok: boolean }>('DELETE', `${svc(name)}/scale`),
    pause: (name: string, paused: boolean) =>
      call<{ ok: boolean }>('POST', `${svc(name)}/${paused ? 'pause' : 'resume'}`),
    evalPolicy: (body: EvalRequest) => call<EvalResult>('POST', '/v1/policies/eval', body),
    events: (q: { service?: string; since?: number; after?: number; limit?: number }) =>
      call<EventPage>('GET', `/v1/events?${query(q)}`),
    metric: (service: string, metric: string, window: string) =>
      call<MetricSeries>('GET', `/v1/metrics/query?${query({ service, metric, window })}`),
    consumers: () => call<{ consumers: ConsumerBudgets[] }>('GET', '/v1/consumers'),
    usage: (q: { by?: string; since?: number; service?: string }) =>
      call<UsageSummary>('GET', `/v1/usage?${query(q)}`),
    /** Opens the SSE stream; `onEvent` gets the events of `types`; `onState` hears open/closed. */
    stream(
      service: string | undefined,
      types: string[],
      onEvent: (e: AdminEvent) => void,
      onState?: (open: boolean) => void,
    ): () => void {
      const token = savedToken();
      const es = new EventSource(
        `${base}/v1/events/stream?${query({ service, access_token: token || undefined })}`,
      );
      const handler = (m: MessageEvent<string>) => {
        try {
          onEvent(JSON.parse(m.data) as AdminEvent);
        } catch {
          // A malformed frame is skipped; the next one is independent.
        }
      };
      for (const t of types) es.addEventListener(t, handler as EventListener);
      if (onState) {
        es.onopen = () => onState(true);
        es.onerror = () => onState(false);
      }
      return () => es.close();
    },
  };
}

/** The API client's type. */
export type ApiClient = ReturnType<typeof createApiClient>;

function query(q: Record<string, string | number | undefined>): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) if (v !== undefined && v !== '') p.set(k, String(v));
  return p.toString();
}
