/**
 * Error bodies and stream error events in each provider's published shape.
 *
 * - OpenAI: `{"error": {"message", "type", "param", "code"}}`; inside a stream the same object as
 *   one `data:` event, then `data: [DONE]` so clients see a well-formed end.
 * - Anthropic: `{"type": "error", "error": {"type", "message"}}`; inside a stream an
 *   `event: error` with that body. Types by status follow Anthropic's errors page
 *   (400 invalid_request_error … 529 overloaded_error).
 */
import { isObject, tryParseJson, type JsonObject } from './checked.js';
import { jsonEvent, type SseEvent } from './sse.js';

/** An HTTP error answer: status and JSON body. */
export interface ErrorReply {
  status: number;
  body: JsonObject;
}

/** OpenAI's optional error fields. */
export interface OpenaiErrorFields {
  type?: string;
  param?: string | null;
  code?: string | null;
}

/** OpenAI's error `type` for a status when the caller gives none. */
export function openaiErrorType(status: number): string {
  if (status === 401) return 'authentication_error';
  if (status === 403) return 'permission_error';
  if (status === 429) return 'rate_limit_error';
  if (status >= 500) return 'server_error';
  return 'invalid_request_error';
}

/** OpenAI's error body and status. */
export function openaiError(status: number, message: string, fields: OpenaiErrorFields = {}): ErrorReply {
  return {
    status,
    body: {
      error: {
        message,
        type: fields.type ?? openaiErrorType(status),
        param: fields.param ?? null,
        code: fields.code ?? null,
      },
    },
  };
}

/** Anthropic's error `type` for a status. */
export function anthropicErrorType(status: number): string {
  switch (status) {
    case 400:
      return 'invalid_request_error';
    case 401:
      return 'authentication_error';
    case 402:
      return 'billing_error';
    case 403:
      return 'permission_error';
    case 404:
      return 'not_found_error';
    case 413:
      return 'request_too_large';
    case 429:
      return 'rate_limit_error';
    case 504:
      return 'timeout_error';
    case 529:
      return 'overloaded_error';
    default:
      return status >= 400 && status < 500 ? 'invalid_request_error' : 'api_error';
  }
}

/** Anthropic's error body and status. */
export function anthropicError(status: number, message: string, type?: string): ErrorReply {
  return {
    status,
    body: { type: 'error', error: { type: type ?? anthropicErrorType(status), message } },
  };
}

/** The events that end an OpenAI stream with an error: the error object, then `[DONE]`. */
export function openaiErrorEvents(message: string, fields: OpenaiErrorFields = {}): SseEvent[] {
  const { body } = openaiError(500, message, { type: 'server_error', ...fields });
  return [jsonEvent(body), { data: '[DONE]' }];
}

/** The event that ends an Anthropic stream with an error (`event: error`). */
export function anthropicErrorEvent(message: string, type = 'api_error'): SseEvent {
  return jsonEvent({ type: 'error', error: { type, message } }, 'error');
}

/**
 * The message of an error body in either shape (OpenAI's `error.message`, Anthropic's
 * `error.message`, a bare `{message}` or `{error: "text"}` as some servers send), or the text itself.
 */
export function errorMessageOf(body: unknown): string {
  const parsed = typeof body === 'string' ? (tryParseJson(body) ?? body) : body;
  if (typeof parsed === 'string') return parsed;
  if (isObject(parsed)) {
    if (isObject(parsed.error) && typeof parsed.error.message === 'string') return parsed.error.message;
    if (typeof parsed.error === 'string') return parsed.error;
    if (typeof parsed.message === 'string') return parsed.message;
  }
  return 'upstream error';
}

/** A backend's error reply (either format) re-shaped for an OpenAI client, status kept. */
export function errorToOpenai(status: number, body: unknown): ErrorReply {
  return openaiError(status, errorMessageOf(body));
}

/** A backend's error reply (either format) re-shaped for an Anthropic client, status kept. */
export function errorToAnthropic(status: number, body: unknown): ErrorReply {
  return anthropicError(status, errorMessageOf(body));
}
