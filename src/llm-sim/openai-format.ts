/**
 * OpenAI's Chat Completions and Completions formats (the API reference and openai-node's types):
 * request parsing, the response object, stream chunks and errors.
 *
 * A stream is `data: {chunk}` events ending with `data: [DONE]`. The first chat chunk carries
 * `delta.role`, the last one `finish_reason` with an empty delta. With
 * `stream_options.include_usage` every chunk has `usage: null` and one more chunk, with
 * `choices: []` and the usage, comes before `[DONE]`; without it no chunk has a `usage` key.
 * `prompt_tokens` includes `prompt_tokens_details.cached_tokens`.
 *
 * A tool call (tool-call.ts) is `message.tool_calls[{id, type: "function", function: {name,
 * arguments}}]` with `content: null` and `finish_reason: "tool_calls"`; streamed, the first
 * `delta.tool_calls[{index: 0, id, type, function: {name, arguments: ""}}]` and then one
 * `{index: 0, function: {arguments}}` piece per token.
 */
import { chatPromptText, type PromptMessage } from './tokenizer.js';
import { invalid, isObject, type ParseResult, type SimCompletion, type SimError } from './sim-request.js';
import { pickOpenAiTool, type SimToolCall } from './tool-call.js';

/** The text of a message's `content`: a string, or the text parts of an array. */
function contentText(content: unknown): string | undefined {
  if (typeof content === 'string') return content;
  if (content === null || content === undefined) return '';
  if (!Array.isArray(content)) return undefined;
  const texts: string[] = [];
  for (const part of content) {
    if (!isObject(part)) return undefined;
    if (part.type === 'text' && typeof part.text === 'string') texts.push(part.text);
  }
  return texts.join('\n');
}

function commonFields(body: Record<string, unknown>):
  | ParseResult
  | {
      model: string;
      maxTokens: number | undefined;
      stop: string[];
      stream: boolean;
      includeUsage: boolean;
    } {
  if (typeof body.model !== 'string' || body.model === '')
    return invalid('model', 'you must provide a model parameter');
  const limit = body.max_completion_tokens ?? body.max_tokens;
  const limitName = body.max_completion_tokens !== undefined ? 'max_completion_tokens' : 'max_tokens';
  if (limit !== undefined && limit !== null && !(Number.isInteger(limit) && (limit as number) >= 1))
    return invalid(limitName, `${limitName} must be an integer >= 1, got ${JSON.stringify(limit)}`);
  if (body.n !== undefined && body.n !== null && body.n !== 1)
    return invalid('n', `llm-sim supports n=1 only, got ${JSON.stringify(body.n)}`);
  let stop: string[] = [];
  if (typeof body.stop === 'string') stop = [body.stop];
  else if (Array.isArray(body.stop) && body.stop.every((s) => typeof s === 'string')) {
    if (body.stop.length > 4) return invalid('stop', 'at most 4 stop sequences');
    stop = body.stop as string[];
  } else if (body.stop !== undefined && body.stop !== null)
    return invalid('stop', 'stop must be a string or an array of strings');
  if (body.stream !== undefined && body.stream !== null && typeof body.stream !== 'boolean')
    return invalid('stream', 'stream must be a boolean');
  const stream = body.stream === true;
  let includeUsage = false;
  if (body.stream_options !== undefined && body.stream_options !== null) {
    if (!stream)
      return invalid(
        'stream_options',
        "The 'stream_options' parameter is only allowed when 'stream' is enabled.",
      );
    if (!isObject(body.stream_options)) return invalid('stream_options', 'stream_options must be an object');
    includeUsage = body.stream_options.include_usage === true;
  }
  return {
    model: body.model,
    maxTokens: (limit ?? undefined) as number | undefined,
    stop,
    stream,
    includeUsage,
  };
}

/** Parses a `/v1/chat/completions` body. */
export function parseChatRequest(body: unknown): ParseResult {
  if (!isObject(body)) return invalid(null, 'the request body must be a JSON object');
  const common = commonFields(body);
  if ('ok' in common) return common;
  if (!Array.isArray(body.messages) || body.messages.length === 0)
    return invalid('messages', 'messages must be a non-empty array');
  const messages: PromptMessage[] = [];
  for (const [i, m] of body.messages.entries()) {
    if (!isObject(m) || typeof m.role !== 'string')
      return invalid(`messages[${i}].role`, `messages[${i}] must be an object with a role`);
    let text = contentText(m.content);
    if (text === undefined)
      return invalid(
        `messages[${i}].content`,
        `messages[${i}].content must be a string or an array of parts`,
      );
    if (Array.isArray(m.tool_calls)) text += JSON.stringify(m.tool_calls);
    messages.push({ role: m.role, text });
  }
  const pick = pickOpenAiTool(body);
  if ('error' in pick) return { ok: false, error: pick.error };
  return {
    ok: true,
    request: {
      api: 'chat',
      ...common,
      ...(body.reasoning_effort === 'none' ? { reasoningCap: 0 } : {}),
      prompt: chatPromptText(messages, body.tools),
      echoText: messages[messages.length - 1]!.text,
      ...(pick.tool ? { tool: pick.tool } : {}),
    },
  };
}

/** Parses a `/v1/completions` body (`prompt` a string or an array of one string). */
export function parseCompletionRequest(body: unknown): ParseResult {
  if (!isObject(body)) return invalid(null, 'the request body must be a JSON object');
  const common = commonFields(body);
  if ('ok' in common) return common;
  let prompt = body.prompt;
  if (Array.isArray(prompt) && prompt.length === 1) prompt = prompt[0];
  if (typeof prompt !== 'string')
    return invalid('prompt', 'prompt must be a string (or an array of one string)');
  return { ok: true, request: { api: 'completions', ...common, prompt, echoText: prompt, reasoningCap: 0 } };
}

/** OpenAI's usage object. */
export function openAiUsage(c: SimCompletion): Record<string, unknown> {
  const usage: Record<string, unknown> = {
    prompt_tokens: c.promptTokens,
    completion_tokens: c.completionTokens,
    total_tokens: c.promptTokens + c.completionTokens,
    prompt_tokens_details: { cached_tokens: c.cachedTokens },
  };
  if ((c.reasoningTokens ?? 0) > 0) usage.completion_tokens_details = { reasoning_tokens: c.reasoningTokens };
  return usage;
}

/** The non-streaming response. */
export function openAiResponse(api: 'chat' | 'completions', c: SimCompletion): Record<string, unknown> {
  const choice =
    api === 'chat'
      ? {
          index: 0,
          message: {
            role: 'assistant',
            content: c.toolCall ? null : c.text,
            ...(c.toolCall
              ? {
                  tool_calls: [
                    {
                      id: c.toolCall.id,
                      type: 'function',
                      function: { name: c.toolCall.name, arguments: c.text },
                    },
                  ],
                }
              : {}),
            ...((c.reasoningTokens ?? 0) > 0 ? { reasoning_content: c.reasoning ?? '' } : {}),
            refusal: null,
          },
          logprobs: null,
          finish_reason: c.finishReason,
        }
      : { index: 0, text: c.text, logprobs: null, finish_reason: c.finishReason };
  return {
    id: c.id,
    object: api === 'chat' ? 'chat.completion' : 'text_completion',
    created: c.created,
    model: c.model,
    choices: [choice],
    usage: openAiUsage(c),
  };
}

/** Builds the SSE events of one stream. */
export class OpenAiStream {
  private readonly api: 'chat' | 'completions';
  private readonly head: { id: string; object: string; created: number; model: string };
  private readonly includeUsage: boolean;
  private readonly toolCall: SimToolCall | undefined;
  private toolStarted = false;

  constructor(
    api: 'chat' | 'completions',
    head: { id: string; created: number; model: string; toolCall?: SimToolCall },
    includeUsage: boolean,
  ) {
    this.toolCall = head.toolCall;
    this.api = api;
    this.head = {
      id: head.id,
      object: api === 'chat' ? 'chat.completion.chunk' : 'text_completion',
      created: head.created,
      model: head.model,
    };
    this.includeUsage = includeUsage;
  }

  private event(choices: unknown[], usage?: unknown): string {
    const chunk: Record<string, unknown> = { ...this.head, choices };
    if (this.includeUsage) chunk.usage = usage ?? null;
    return `data: ${JSON.stringify(chunk)}\n\n`;
  }

  /** Sent before the first token: the chat role chunk (completions send none). */
  start(): string {
    if (this.api !== 'chat') return '';
    return this.event([
      {
        index: 0,
        delta: { role: 'assistant', content: this.toolCall ? null : '', refusal: null },
        logprobs: null,
        finish_reason: null,
      },
    ]);
  }

  /** One content chunk. */
  content(text: string): string {
    if (this.toolCall) return this.toolArguments(this.toolCall, text);
    return this.api === 'chat'
      ? this.event([{ index: 0, delta: { content: text }, logprobs: null, finish_reason: null }])
      : this.event([{ index: 0, text, logprobs: null, finish_reason: null }]);
  }

  /** A piece of the tool call's arguments, after the chunk naming the call when it is the first. */
  private toolArguments(call: SimToolCall, text: string): string {
    const chunk = (toolCall: Record<string, unknown>) =>
      this.event([{ index: 0, delta: { tool_calls: [toolCall] }, logprobs: null, finish_reason: null }]);
    let out = '';
    if (!this.toolStarted) {
      this.toolStarted = true;
      out += chunk({ index: 0, id: call.id, type: 'function', function: { name: call.name, arguments: '' } });
    }
    return out + chunk({ index: 0, function: { arguments: text } });
  }

  /** One reasoning chunk (`delta.reasoning_content`, vLLM's and DeepSeek's field; chat only). */
  reasoning(text: string): string {
    return this.event([
      { index: 0, delta: { reasoning_content: text }, logprobs: null, finish_reason: null },
    ]);
  }

  /** A chunk that is not JSON (fault injection): it starts like a chunk and breaks off. */
  malformed(): string {
    return `data: {"id":"${this.head.id}","object":"${this.head.object}","choices":[{"index":0,"delta":{"content":\n\n`;
  }

  /** The finish chunk, the usage chunk when asked for, and `[DONE]`. */
  end(c: SimCompletion): string {
    const finish =
      this.api === 'chat'
        ? this.event([{ index: 0, delta: {}, logprobs: null, finish_reason: c.finishReason }])
        : this.event([{ index: 0, text: '', logprobs: null, finish_reason: c.finishReason }]);
    const usage = this.includeUsage ? this.event([], openAiUsage(c)) : '';
    return `${finish}${usage}data: [DONE]\n\n`;
  }
}

/** OpenAI's error body. */
export function openAiError(e: SimError): Record<string, unknown> {
  return { error: { message: e.message, type: e.type, param: e.param, code: e.code } };
}

/** OpenAI's `/v1/models` list. */
export function openAiModels(models: string[], created: number): Record<string, unknown> {
  return {
    object: 'list',
    data: models.map((id) => ({ id, object: 'model', created, owned_by: 'llm-sim' })),
  };
}
