/**
 * Errors of an AI service in its client's own format: the gateway's stages (authenticate's 401,
 * validate's 413, admission's 429) and the front door answer an OpenAI client with OpenAI's
 * `{"error": {message, type, param, code}}` and an Anthropic client with `{"type": "error", ...}`.
 * The gateway's stable code (`LS_ERR_*`) goes in OpenAI's `code` when the provider has no better
 * one, so a client can still tell a gateway refusal from a model's.
 */
import type { ErrorCode } from '../../core/errors.js';
import type { ErrorBodyFn } from '../../gateway/gateway.js';
import { anthropicError, openaiError } from '../formats/errors.js';
import { clientFormatOf, type ApiFormat } from './endpoints.js';

/** OpenAI's own `code` for the gateway's refusals that have one. */
const OPENAI_CODES: Partial<Record<ErrorCode, string>> = {
  LS_ERR_GATEWAY_UNAUTHENTICATED: 'invalid_api_key',
  LS_ERR_GATEWAY_RATE_LIMITED: 'rate_limit_exceeded',
};

/** The JSON text of an error for a client of `format`. */
export function llmErrorText(
  format: ApiFormat,
  e: { status: number; message: string; code?: string; param?: string },
): string {
  const reply =
    format === 'anthropic'
      ? anthropicError(e.status, e.message)
      : openaiError(e.status, e.message, { param: e.param ?? null, code: e.code ?? null });
  return JSON.stringify(reply.body);
}

/** The gateway's error bodies for an AI service (GatewayOptions services[].errorBody). */
export const llmErrorBody: ErrorBodyFn = (path, e) =>
  llmErrorText(clientFormatOf(path), {
    status: e.status,
    message: e.message,
    code: OPENAI_CODES[e.code] ?? e.code,
  });
