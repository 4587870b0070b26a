/**
 * The front door's endpoints: which API a request speaks, from its path. The last path segments
 * decide (`/v1/chat/completions` also under a route prefix such as `/ai/v1/chat/completions`).
 */

/** The two client (and backend) API formats. */
export type ApiFormat = 'openai' | 'anthropic';

/** What a request asks for. */
export type EndpointKind =
  'chat' | 'completions' | 'embeddings' | 'models' | 'messages' | 'count_tokens' | 'responses';

/** One endpoint: its kind, the format its client speaks, and the method it answers. */
export interface Endpoint {
  kind: EndpointKind;
  format: ApiFormat;
  method: 'GET' | 'POST';
}

const ENDPOINTS: readonly [string, Endpoint][] = [
  ['/v1/chat/completions', { kind: 'chat', format: 'openai', method: 'POST' }],
  ['/v1/completions', { kind: 'completions', format: 'openai', method: 'POST' }],
  ['/v1/embeddings', { kind: 'embeddings', format: 'openai', method: 'POST' }],
  ['/v1/models', { kind: 'models', format: 'openai', method: 'GET' }],
  ['/v1/messages', { kind: 'messages', format: 'anthropic', method: 'POST' }],
  ['/v1/messages/count_tokens', { kind: 'count_tokens', format: 'anthropic', method: 'POST' }],
  ['/v1/responses', { kind: 'responses', format: 'openai', method: 'POST' }],
];

const MODEL_PREFIX = '/v1/models/';

/** The endpoint a path names, or undefined. `/v1/models/{id}` is the models endpoint too (one model). */
export function endpointOf(path: string): Endpoint | undefined {
  const p = path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
  for (const [suffix, e] of ENDPOINTS) if (p.endsWith(suffix)) return e;
  return modelIdOf(p) === undefined ? undefined : ENDPOINTS[3]![1];
}

/**
 * The model a `GET /v1/models/{id}` asks for (OpenAI's and Anthropic's "retrieve a model"),
 * percent-decoded: SDKs encode an id such as `org/name` as `org%2Fname`; a raw slash is kept.
 */
export function modelIdOf(path: string): string | undefined {
  const i = path.indexOf(MODEL_PREFIX);
  if (i < 0) return undefined;
  const raw = path.slice(i + MODEL_PREFIX.length).replace(/\/$/, '');
  if (raw === '') return undefined;
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

/** The format a path's client speaks (errors are answered in it): Anthropic for `/v1/messages`, else OpenAI. */
export function clientFormatOf(path: string): ApiFormat {
  return endpointOf(path)?.format ?? 'openai';
}

/**
 * The path a backend of `format` serves an endpoint kind at (a chat or a completion goes to
 * /v1/messages on Anthropic; a Responses request is sent as a chat, see translation.ts).
 */
export function backendPath(kind: EndpointKind, format: ApiFormat): string {
  if (
    kind === 'chat' ||
    kind === 'messages' ||
    kind === 'responses' ||
    (kind === 'completions' && format === 'anthropic')
  )
    return format === 'anthropic' ? '/v1/messages' : '/v1/chat/completions';
  return `/v1/${kind}`;
}
