/**
 * The front door's endpoints: which API a request speaks, from its path. The last path segments
 * decide (`/v1/chat/completions` also under a route prefix such as `/ai/v1/chat/completions`).
 */

/** The two client (and backend) API formats. */
export type ApiFormat = 'openai' | 'anthropic';

/** What a request asks for. */
export type EndpointKind = 'chat' | 'completions' | 'embeddings' | 'models' | 'messages';

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
];

/** The endpoint a path names, or undefined. */
export function endpointOf(path: string): Endpoint | undefined {
  const p = path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
  for (const [suffix, e] of ENDPOINTS) if (p.endsWith(suffix)) return e;
  return undefined;
}

/** The format a path's client speaks (errors are answered in it): Anthropic for `/v1/messages`, else OpenAI. */
export function clientFormatOf(path: string): ApiFormat {
  return endpointOf(path)?.format ?? 'openai';
}

/** The path a backend of `format` serves an endpoint kind at (a chat or a completion goes to /v1/messages on Anthropic). */
export function backendPath(kind: EndpointKind, format: ApiFormat): string {
  if (kind === 'chat' || kind === 'messages' || (kind === 'completions' && format === 'anthropic'))
    return format === 'anthropic' ? '/v1/messages' : '/v1/chat/completions';
  return `/v1/${kind}`;
}
