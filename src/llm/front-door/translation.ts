/**
 * Where translation between the two formats plugs into the front door: a chat request, a whole
 * response and a stream from one format to the other, by formats' translators (src/llm/formats/).
 * An OpenAI completion reaches an Anthropic backend too (formats/completion-translation.ts).
 * A request that cannot be expressed in the backend's format (OpenAI's `n` > 1 to Anthropic,
 * Anthropic-only blocks to OpenAI) fails with the field, and the front door moves on to the next
 * backend (answering 400 naming the field when none can take it).
 *
 * A Responses API client (`kind: 'responses'`) is served through the chat path: its request was
 * translated to a chat request at the door (formats/responses-request.ts), so a backend of either
 * format gets what a chat client's request would become; the answer, whole or streamed, is a chat
 * answer (translated from Anthropic first when the backend speaks it) made into a Responses object
 * or event stream.
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
  ChatToResponsesStream,
  chatResponseToResponses,
  type AnthropicMessagesRequest,
  type OpenaiChatRequest,
} from '../formats/index.js';
import type { ApiFormat, EndpointKind } from './endpoints.js';
import type { StreamTranslator } from './relay.js';
import type { SseEvent } from '../formats/sse.js';

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
  /** The format the backend streams in (read for `kind: 'responses'`, whose client format is OpenAI's too). */
  backend?: ApiFormat;
  /** The client's own request, when it was translated at the door (the Responses API's). */
  request?: JsonObject;
}

/** What the backend's answer is made into, besides the format pair. */
export interface ResponseContext {
  /** Unix seconds. */
  created: number;
  /** As StreamContext's. */
  kind?: EndpointKind;
  backend?: ApiFormat;
  request?: JsonObject;
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
  response(body: JsonObject, to: ApiFormat, o: ResponseContext): JsonObject;
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
  response: (body, to, { created, kind, backend, request }) =>
    kind === 'responses'
      ? chatResponseToResponses(
          backend === 'anthropic' ? anthropicResponseToOpenaiChat(body, { created }) : body,
          {
            request: request ?? {},
            created,
          },
        )
      : to === 'anthropic'
        ? openaiChatResponseToAnthropic(body)
        : kind === 'completions'
          ? anthropicResponseToOpenaiCompletion(body, { created })
          : anthropicResponseToOpenaiChat(body, { created }),
  stream: (to, o) =>
    o.kind === 'responses'
      ? responsesStream(o)
      : to === 'anthropic'
        ? new OpenaiToAnthropicStream({ inputTokens: o.inputTokens, model: o.model })
        : new AnthropicToOpenaiStream({
            includeUsage: o.includeUsage,
            created: o.created,
            model: o.model,
            completions: o.kind === 'completions',
          }),
};

/** Whether a backend's answer must be translated for the client (formats differ, or a Responses client). */
export function translates(client: ApiFormat, backend: ApiFormat, kind: EndpointKind): boolean {
  return client !== backend || kind === 'responses';
}

/** A Responses stream: the backend's chat chunks (Anthropic's events made chat chunks first) as Responses events. */
function responsesStream(o: StreamContext): StreamTranslator {
  const responses = new ChatToResponsesStream({ request: o.request ?? {}, created: o.created });
  if (o.backend !== 'anthropic') return responses;
  const chat = new AnthropicToOpenaiStream({ includeUsage: true, created: o.created, model: o.model });
  const each = (events: SseEvent[]) => events.flatMap((e) => responses.push(e));
  return {
    push: (event) => each(chat.push(event)),
    end: () => [...each(chat.end()), ...responses.end()],
    failEvents: (message) => responses.failEvents(message),
  };
}
