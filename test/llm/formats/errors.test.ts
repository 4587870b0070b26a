import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  anthropicError,
  anthropicErrorEvent,
  errorMessageOf,
  errorToAnthropic,
  errorToOpenai,
  openaiError,
  openaiErrorEvents,
} from '../../../src/llm/formats/errors.js';
import { formatSseAll } from '../../../src/llm/formats/sse.js';

test('openaiError: the {error: {message, type, param, code}} body, type by status unless given', () => {
  assert.deepEqual(openaiError(400, 'messages[2].content: required', { param: 'messages[2].content' }), {
    status: 400,
    body: {
      error: {
        message: 'messages[2].content: required',
        type: 'invalid_request_error',
        param: 'messages[2].content',
        code: null,
      },
    },
  });
  assert.equal((openaiError(429, 'slow down').body.error as { type: string }).type, 'rate_limit_error');
  assert.equal((openaiError(503, 'x').body.error as { type: string }).type, 'server_error');
  const notFound = openaiError(404, 'The model `m` does not exist', { code: 'model_not_found' });
  assert.equal((notFound.body.error as { code: string }).code, 'model_not_found');
});

test('anthropicError: {type: "error", error: {type, message}} with the type Anthropic uses for each status', () => {
  const table: Array<[number, string]> = [
    [400, 'invalid_request_error'],
    [401, 'authentication_error'],
    [403, 'permission_error'],
    [404, 'not_found_error'],
    [413, 'request_too_large'],
    [429, 'rate_limit_error'],
    [500, 'api_error'],
    [504, 'timeout_error'],
    [529, 'overloaded_error'],
  ];
  for (const [status, type] of table)
    assert.deepEqual(anthropicError(status, 'm'), {
      status,
      body: { type: 'error', error: { type, message: 'm' } },
    });
});

test('stream error events: OpenAI sends the error object then [DONE]; Anthropic sends event: error', () => {
  assert.equal(
    formatSseAll(openaiErrorEvents('backend cut')),
    'data: {"error":{"message":"backend cut","type":"server_error","param":null,"code":null}}\n\ndata: [DONE]\n\n',
  );
  assert.equal(
    formatSseAll([anthropicErrorEvent('Overloaded', 'overloaded_error')]),
    'event: error\ndata: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}\n\n',
  );
});

test('errorMessageOf reads either format, a bare message, or text; errorTo* keep the status', () => {
  assert.equal(errorMessageOf({ error: { message: 'a' } }), 'a');
  assert.equal(errorMessageOf({ type: 'error', error: { type: 'x', message: 'b' } }), 'b');
  assert.equal(errorMessageOf('{"message":"c"}'), 'c');
  assert.equal(errorMessageOf({ error: 'd' }), 'd');
  assert.equal(errorMessageOf('plain text'), 'plain text');
  assert.equal(errorMessageOf(42), 'upstream error');
  assert.deepEqual(
    errorToAnthropic(429, { error: { message: 'Rate limit reached' } }),
    anthropicError(429, 'Rate limit reached'),
  );
  assert.deepEqual(
    errorToOpenai(529, { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } }),
    openaiError(529, 'Overloaded'),
  );
});
