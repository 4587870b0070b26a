/**
 * The warm-up of a model server (issue 20, scale from zero): an instance of an AI service counts as
 * ready only when its health check passes AND a 1-token completion for one of its models answers
 * 2xx. A vLLM or llama.cpp server answers `/health` before its first generation works (CUDA graphs,
 * the first batch's compile), and a request routed there in that window waits or fails; the warm-up
 * pays that once, before the gateway routes anything to it.
 */
import { request } from 'undici';
import { countPromptTokens } from '../budget/count-prompt-tokens.js';

/** What one warm-up saw (the shape of the process provider's probe result). */
export interface WarmUpResult {
  ok: boolean;
  status?: number;
  error?: string;
}

/** One warm-up request, for a model served by the instances in `format`. */
export interface WarmUpOptions {
  /** The API the instances speak. */
  format: 'openai' | 'anthropic';
  /** The model name the instances know. */
  model: string;
  /** Longest wait for the answer, ms. */
  timeoutMs: number;
}

/** The path and body of the warm-up: the smallest completion the API has (one output token). */
export function warmUpRequest(o: Pick<WarmUpOptions, 'format' | 'model'>): { path: string; body: string } {
  const messages = [{ role: 'user', content: 'warm-up' }];
  return o.format === 'anthropic'
    ? { path: '/v1/messages', body: JSON.stringify({ model: o.model, max_tokens: 1, messages }) }
    : {
        path: '/v1/chat/completions',
        body: JSON.stringify({ model: o.model, max_tokens: 1, stream: false, messages }),
      };
}

/** A warm-up check for the process provider's readiness: POSTs the 1-token completion to `baseUrl`. */
export function createWarmUp(o: WarmUpOptions): (baseUrl: string) => Promise<WarmUpResult> {
  const { path, body } = warmUpRequest(o);
  const format = o.format === 'anthropic' ? 'anthropic-messages' : 'openai-chat';
  return async function warmUp(baseUrl) {
    // The gateway's end warms too: the front door counts every prompt, and the tokenizer's first
    // call builds its caches (~40 ms, more on a busy machine) on the path of the queued requests.
    countPromptTokens(JSON.parse(body), format);
    const what = `warm-up POST ${path}`;
    try {
      const res = await request(baseUrl + path, {
        method: 'POST',
        body,
        headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
        headersTimeout: o.timeoutMs,
        bodyTimeout: o.timeoutMs,
        signal: AbortSignal.timeout(o.timeoutMs),
        reset: true,
      });
      await res.body.dump();
      const ok = res.statusCode >= 200 && res.statusCode < 300;
      return ok ? { ok, status: res.statusCode } : { ok, error: `${what} → ${res.statusCode}` };
    } catch (err) {
      const e = err as { name?: string; code?: string; cause?: { code?: string } };
      const why =
        e?.name === 'TimeoutError' ? `no answer within ${o.timeoutMs} ms` : (e?.cause?.code ?? e?.code);
      return { ok: false, error: `${what} → ${why ?? String(err)}` };
    }
  };
}
