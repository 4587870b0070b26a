/**
 * Where translation between the two formats plugs into the front door: a chat request, a whole
 * response and a stream from one format to the other, by formats' translators (src/llm/formats/).
 * An OpenAI completion reaches an Anthropic backend too (formats/completion-translation.ts).
 * A request that cannot be expressed in the backend's format (OpenAI's `n` > 1 to Anthropic,
 * Anthropic-only blocks to OpenAI) fails with the field, and the front door moves on to the next
 * backend (answering 400 naming the field when none can take it).
 */
import type { Checked, JsonObject } from '../formats/checked.js';
import {
  anthropicResponseToOpenaiChat,
  anthropicResponseToOpenaiCompletion,
  openaiCompletionToAnthropic,
  type OpenaiCompletionRequest,
  anthropicToOpenaiChat,
  AnthropicToOpenaiStream,
  openaiChatResponseToAnthropic,
  openaiChatToAnthropic,
  OpenaiToAnthropicStream,
  type AnthropicMessagesRequest,
  type OpenaiChatRequest,
} from '../formats/index.js';
import type { ApiFormat, EndpointKind } from './endpoints.js';
import type { StreamTranslator } from './relay.js';

/** What a stream translator is built with. */
export interface StreamContext {
  /** The model name the client asked for. */
  model: string;
  /** The (OpenAI) client asked for `stream_options.include_usage`. */
  includeUsage: boolean;
  /** The prompt's tokens by the tokenizer (Anthropic's message_start before the backend reports). */
  inputTokens: number;
  /** Unix seconds. */
  created: number;
  /** The client's endpoint (`completions`: text_completion chunks); chat when absent. */
  kind?: EndpointKind;
}

/** Translation from the client's format to a backend's and back. */
export interface Translation {
  /**
   * The client's chat request (or, with `kind: 'completions'`, an OpenAI completion for an
   * Anthropic backend) in the backend format `to` (the backend's model name set).
   */
  request(
    body: JsonObject,
    to: ApiFormat,
    o: { model?: string; maxTokensDefault: number; kind?: EndpointKind },
  ): Checked<JsonObject>;
  /** The backend's whole response in the client's format `to` (`kind` as for request). */
  response(body: JsonObject, to: ApiFormat, created: number, kind?: EndpointKind): JsonObject;
  /** A translator of the backend's stream events into the client's format `to`. */
  stream(to: ApiFormat, o: StreamContext): StreamTranslator;
}

/** Translation by src/llm/formats. */
export const formatsTranslation: Translation = {
  request(body, to, o) {
    const model = o.model === undefined ? {} : { model: o.model };
    if (o.kind === 'completions' && to === 'anthropic')
      return openaiCompletionToAnthropic(body as OpenaiCompletionRequest, {
        maxTokensDefault: o.maxTokensDefault,
        ...model,
      }) as Checked<JsonObject>;
    const out =
      to === 'anthropic'
        ? openaiChatToAnthropic(body as OpenaiChatRequest, { maxTokensDefault: o.maxTokensDefault, ...model })
        : anthropicToOpenaiChat(body as AnthropicMessagesRequest, model);
    return out as Checked<JsonObject>;
  },
  response: (body, to, created, kind) =>
    to === 'anthropic'
      ? openaiChatResponseToAnthropic(body)
      : kind === 'completions'
        ? anthropicResponseToOpenaiCompletion(body, { created })
        : anthropicResponseToOpenaiChat(body, { created }),
  stream: (to, o) =>
    to === 'anthropic'
      ? new OpenaiToAnthropicStream({ inputTokens: o.inputTokens, model: o.model })
      : new AnthropicToOpenaiStream({
          includeUsage: o.includeUsage,
          created: o.created,
          model: o.model,
          completions: o.kind === 'completions',
        }),
};
