/**
 * The two model APIs luascale speaks, OpenAI (Chat Completions, Completions, Embeddings) and
 * Anthropic (Messages), and OpenAI's Responses API as a translation onto Chat Completions: validation in the client's format, translation of requests, responses and
 * streams both ways, SSE parsing, usage normalisation and error shapes. Pure: no I/O, no clock
 * (a `created` timestamp is passed in).
 */
export { fail, isObject, tryParseJson, type Checked, type JsonObject } from './checked.js';
export { formatSse, formatSseAll, jsonEvent, SseParser, type SseEvent } from './sse.js';
export {
  AnthropicStreamUsage,
  emptyUsage,
  OpenaiStreamUsage,
  usageFromAnthropic,
  usageFromOpenai,
  usageToAnthropic,
  usageToOpenai,
  type StreamUsage,
  type Usage,
} from './usage.js';
export {
  anthropicError,
  anthropicErrorEvent,
  anthropicErrorType,
  errorMessageOf,
  errorToAnthropic,
  errorToOpenai,
  openaiError,
  openaiErrorEvents,
  openaiErrorType,
  type ErrorReply,
  type OpenaiErrorFields,
} from './errors.js';
export { validateOpenaiChat, validateOpenaiCompletion, validateOpenaiEmbedding } from './validate-openai.js';
export { validateAnthropicMessages } from './validate-anthropic.js';
export { openaiChatToAnthropic, type ToAnthropicOptions } from './openai-to-anthropic-request.js';
export { anthropicToOpenaiChat, type ToOpenaiOptions } from './anthropic-to-openai-request.js';
export {
  anthropicResponseToOpenaiChat,
  openaiChatResponseToAnthropic,
  toolInput,
  type ToOpenaiResponseOptions,
} from './chat-response.js';
export { finishToStopReason, stopReasonToFinish } from './stop-reasons.js';
export {
  anthropicResponseToOpenaiCompletion,
  completionFinish,
  openaiCompletionToAnthropic,
} from './completion-translation.js';
export {
  OpenaiToAnthropicStream,
  type OpenaiToAnthropicStreamOptions,
} from './openai-to-anthropic-stream.js';
export {
  AnthropicToOpenaiStream,
  type AnthropicToOpenaiStreamOptions,
} from './anthropic-to-openai-stream.js';
export { responsesToChat } from './responses-request.js';
export { validateResponsesFields } from './validate-responses.js';
export { chatResponseToResponses, usageToResponses } from './responses-response.js';
export { ChatToResponsesStream, type ChatToResponsesStreamOptions } from './responses-stream.js';
export type * from './types.js';
