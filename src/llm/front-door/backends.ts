/**
 * The models of an AI service as the front door runs them: each an ordered list of backends
 * (the service's own instances, reached through its balancer and pool, or a hosted provider
 * reached through an undici Pool of its own), with its timeouts and default max_tokens.
 * A hosted provider's key goes into that backend's request headers only: it is never part of a
 * label, a log line, an error or a ledger row.
 */
import { Pool } from 'undici';
import type { ApiFormat } from './endpoints.js';

/** One backend as configured (the app maps `llm.models.<m>.backends[]` onto it, with the key read from the environment). */
export type BackendOptions =
  | { instances: { format: ApiFormat; model?: string } }
  | { openai: { base_url: string; api_key: string; model?: string } }
  | { anthropic: { base_url: string; api_key: string; model?: string } };

/** One model as configured; times in ms. */
export interface LlmModelOptions {
  backends: BackendOptions[];
  ttftMs: number;
  interTokenMs: number;
  maxTokensDefault: number;
}

/** The service's own instances. */
export interface InstancesBackend {
  kind: 'instances';
  format: ApiFormat;
  /** The model name sent upstream (undefined: the client's). */
  model: string | undefined;
  /** The ledger's and the logs' name for it. */
  label: string;
}

/** A hosted provider. */
export interface HostedBackend {
  kind: 'hosted';
  format: ApiFormat;
  model: string | undefined;
  label: string;
  origin: string;
  /** The base URL's path, prefixed to `/v1/...` (no trailing slash). */
  basePath: string;
  /** The provider's authentication headers (flat name/value list): never logged. */
  auth: string[];
  pool: Pool;
}

/** A backend of a model. */
export type Backend = InstancesBackend | HostedBackend;

/** One served model. */
export interface LlmModel {
  name: string;
  backends: Backend[];
  ttftMs: number;
  interTokenMs: number;
  maxTokensDefault: number;
}

/** Anthropic's API version header when the client sent none (the Messages API's current one). */
export const ANTHROPIC_VERSION = '2023-06-01';

/** Builds the models; `close` ends the hosted providers' connection pools. */
export function createLlmModels(models: Record<string, LlmModelOptions>): {
  models: Map<string, LlmModel>;
  close(): Promise<void>;
} {
  const pools = new Map<string, Pool>();
  const poolOf = (origin: string): Pool => {
    let p = pools.get(origin);
    if (p === undefined) pools.set(origin, (p = new Pool(origin, { connections: 256, pipelining: 1 })));
    return p;
  };
  const out = new Map<string, LlmModel>();
  for (const [name, m] of Object.entries(models)) {
    const backends = m.backends.map((b): Backend => {
      if ('instances' in b)
        return {
          kind: 'instances',
          format: b.instances.format,
          model: b.instances.model,
          label: 'instances',
        };
      const format: ApiFormat = 'openai' in b ? 'openai' : 'anthropic';
      const h = 'openai' in b ? b.openai : b.anthropic;
      const url = new URL(h.base_url);
      const auth =
        format === 'openai'
          ? ['authorization', `Bearer ${h.api_key}`]
          : ['x-api-key', h.api_key, 'anthropic-version', ANTHROPIC_VERSION];
      return {
        kind: 'hosted',
        format,
        model: h.model,
        label: `${format}:${url.host}`,
        origin: url.origin,
        basePath: url.pathname.replace(/\/+$/, '').replace(/\/v1$/, ''),
        auth,
        pool: poolOf(url.origin),
      };
    });
    out.set(name, {
      name,
      backends,
      ttftMs: m.ttftMs,
      interTokenMs: m.interTokenMs,
      maxTokensDefault: m.maxTokensDefault,
    });
  }
  return {
    models: out,
    close: async () => {
      await Promise.all([...pools.values()].map((p) => p.close().catch(() => {})));
    },
  };
}
