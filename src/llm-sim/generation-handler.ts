/**
 * One generation request, from its parsed body to the last byte: model (404) → fault → tokenize
 * and check the model length (400 context_length_exceeded) → generate the text (deterministic) →
 * submit to the scheduler (429 when the queue is full) → stream one chunk per token, or answer once
 * at the end, applying the injected fault on the way. A request offering tools gets a tool call
 * (tool-call.ts): its arguments JSON is the generation, one piece per token. A stream's headers go out at admission (as
 * vLLM's do); its first chunk (role chunk or message_start) with the first token. Every request
 * leaves one {@link LlmSimRequestRecord}.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import type { KvCache } from './kv-cache.js';
import type { Scheduler, SimClock } from './scheduler.js';
import type { SimMetrics } from './metrics.js';
import { generate, type Generation } from './text-generator.js';
import { argumentPieces, makeToolCall, type SimToolCall } from './tool-call.js';
import { encodeText } from './tokenizer.js';
import { hashSeed, seededRandom, type Random } from './random.js';
import { FAULT_HEADER, parseFault, type Fault } from './faults.js';
import { OpenAiStream, openAiError, openAiResponse } from './openai-format.js';
import { AnthropicStream, anthropicError, anthropicResponse } from './anthropic-format.js';
import type { LlmSimOptions } from './llm-sim-options.js';
import type { SimApi, SimCompletion, SimError, SimRequest } from './sim-request.js';

/** How a request ended, as llm-sim saw it. */
export type SimOutcome = 'stop' | 'length' | 'cut' | 'abort' | 'error';

/** One request as llm-sim counted it: the ground truth for usage tests. */
export interface LlmSimRequestRecord {
  /** The response id (chatcmpl-…, cmpl-…, msg_…); '' for requests refused before one was made. */
  id: string;
  api: SimApi;
  model: string;
  stream: boolean;
  /** The HTTP status sent. */
  status: number;
  /** The fault applied, as written. */
  fault: string | null;
  promptTokens: number;
  cachedTokens: number;
  /** Tokens generated and billed: the usage llm-sim reports (or would have, for a cut stream). */
  completionTokens: number;
  /** How many of them were reasoning (`--reasoning-tokens`). */
  reasoningTokens: number;
  /** The text the client was sent (a tool call's arguments JSON). */
  text: string;
  /** The tool call made, if the request got one. */
  toolCall?: SimToolCall;
  /** Whether the usage reached the client (a non-streaming body, OpenAI's usage chunk, Anthropic's message_delta). */
  usageReported: boolean;
  outcome: SimOutcome;
  /** Real ms from arrival to the first token; null without one. */
  ttftMs: number | null;
  /** Real ms from arrival to the end. */
  durationMs: number | null;
}

/** What a request handler shares with the server. */
export interface HandlerContext {
  options: LlmSimOptions;
  clock: SimClock;
  scheduler: Scheduler;
  metrics: SimMetrics;
  records: LlmSimRequestRecord[];
  faultRandom: Random;
  kv: KvCache;
}

/** Sends a JSON body. */
export function send(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

/** Sends an error in the endpoint's format. */
export function sendError(
  res: ServerResponse,
  api: SimApi,
  e: SimError,
  headers: Record<string, string> = {},
): void {
  send(res, e.status, api === 'messages' ? anthropicError(e) : openAiError(e), headers);
}

/** A request's record before anything is known of its outcome. */
export function newRecord(api: SimApi, model: string, stream: boolean): LlmSimRequestRecord {
  return {
    id: '',
    api,
    model,
    stream,
    status: 0,
    fault: null,
    promptTokens: 0,
    cachedTokens: 0,
    completionTokens: 0,
    reasoningTokens: 0,
    text: '',
    usageReported: false,
    outcome: 'error',
    ttftMs: null,
    durationMs: null,
  };
}

/** The 404 for a model this server does not serve. */
export function modelNotFound(model: string): SimError {
  return {
    status: 404,
    type: 'invalid_request_error',
    message: `The model \`${model}\` does not exist.`,
    param: 'model',
    code: 'model_not_found',
  };
}

/** The refusal an injected status fault answers with. */
export function injectedStatusError(status: 429 | 500 | 401): SimError {
  const messages = {
    429: 'Rate limit reached (injected).',
    500: 'The server had an error while processing your request (injected).',
    401: 'Incorrect API key provided (injected).',
  };
  const types = { 429: 'rate_limit_error', 500: 'server_error', 401: 'invalid_request_error' };
  const codes = { 429: 'rate_limit_exceeded', 500: null, 401: 'invalid_api_key' };
  return { status, type: types[status], message: messages[status], param: null, code: codes[status] };
}

/** The 429 for a full waiting queue (send it with `retry-after`). */
export function queueFullError(maxWaiting: number): SimError {
  return {
    status: 429,
    type: 'rate_limit_error',
    message: `The server is busy: the waiting queue is full (${maxWaiting} requests).`,
    param: null,
    code: 'rate_limit_exceeded',
  };
}

/** The fault for this request: the `x-llm-sim-fault` header's, else the flag's (drawn at `--fault-rate`). */
export function pickFault(
  ctx: HandlerContext,
  req: IncomingMessage,
): { fault: Fault | undefined; spec: string | null } | SimError {
  const header = req.headers[FAULT_HEADER];
  if (typeof header === 'string') {
    try {
      return { fault: parseFault(header), spec: header.trim() === 'none' ? null : header.trim() };
    } catch (err) {
      return {
        status: 400,
        type: 'invalid_request_error',
        message: `${FAULT_HEADER}: ${(err as Error).message}`,
        param: null,
        code: null,
      };
    }
  }
  const { fault, faultRate } = ctx.options;
  if (!fault) return { fault: undefined, spec: null };
  // Draw for every request, faulted or not, so the sequence depends on arrival order only.
  const hit = ctx.faultRandom() < faultRate;
  return hit ? { fault, spec: 'flag' } : { fault: undefined, spec: null };
}

function contextLengthError(maxModelLen: number, prompt: number, output: number | undefined): SimError {
  const requested = prompt + (output ?? 0);
  return {
    status: 400,
    type: 'invalid_request_error',
    message:
      `This model's maximum context length is ${maxModelLen} tokens. However, you requested ${requested} tokens ` +
      `(${prompt} in the messages, ${output ?? 0} in the completion). Please reduce the length of the messages or completion.`,
    param: 'messages',
    code: 'context_length_exceeded',
  };
}

/** A tool call's arguments as the generation: cut at max_tokens (`length`), else `tool_calls`. */
function toolGeneration(call: SimToolCall, maxTokens: number): Generation {
  const all = argumentPieces(call.arguments);
  const pieces = all.slice(0, maxTokens);
  const cut = pieces.length < all.length;
  return { pieces, text: pieces.join(''), finishReason: cut ? 'length' : 'tool_calls', stopSequence: null };
}

/** Answers one parsed generation request. */
export async function generateResponse(
  ctx: HandlerContext,
  req: IncomingMessage,
  res: ServerResponse,
  request: SimRequest,
): Promise<void> {
  const { options, clock } = ctx;
  const arrivedAt = clock.now();
  const record = newRecord(request.api, request.model, request.stream);
  const refuse = (e: SimError, headers?: Record<string, string>) => {
    record.status = e.status;
    record.durationMs = clock.now() - arrivedAt;
    ctx.records.push(record);
    sendError(res, request.api, e, headers);
  };
  if (!options.models.includes(request.model)) {
    refuse(modelNotFound(request.model));
    return;
  }
  const picked = pickFault(ctx, req);
  if ('status' in picked) {
    refuse(picked);
    return;
  }
  const { fault } = picked;
  record.fault = picked.spec;
  const promptIds = encodeText(request.prompt);
  record.promptTokens = promptIds.length;
  if (fault?.kind === 'status') {
    record.promptTokens = 0;
    refuse(injectedStatusError(fault.status), fault.status === 429 ? { 'retry-after': '1' } : {});
    return;
  }
  const room = options.maxModelLen - promptIds.length;
  if (
    fault?.kind === 'context-length' ||
    room < 1 ||
    (request.maxTokens !== undefined && request.maxTokens > room)
  ) {
    record.promptTokens = 0;
    refuse(contextLengthError(options.maxModelLen, promptIds.length, request.maxTokens));
    return;
  }
  const maxTokens = request.maxTokens ?? room;
  const toolCall = request.tool
    ? makeToolCall(
        request.tool,
        options.seed,
        request.prompt,
        request.api === 'messages' ? 'toolu_' : 'call_',
      )
    : undefined;
  const generation: Generation = toolCall
    ? toolGeneration(toolCall, maxTokens)
    : generate({
        seed: options.seed,
        prompt: request.prompt,
        echoText: request.echoText,
        mode: options.mode,
        outputTokens: options.outputTokens,
        maxTokens,
        stop: request.stop,
      });
  const outputTokens = Math.max(1, generation.pieces.length);
  if (ctx.kv.blocksFor(promptIds.length + outputTokens) > ctx.kv.totalBlocks) {
    record.promptTokens = 0;
    refuse(contextLengthError(ctx.kv.totalBlocks * ctx.kv.blockSize, promptIds.length, outputTokens));
    return;
  }
  const prefix = request.api === 'chat' ? 'chatcmpl-' : request.api === 'completions' ? 'cmpl-' : 'msg_';
  const completion: SimCompletion = {
    id: `${prefix}${randomUUID().replaceAll('-', '')}`,
    model: request.model,
    created: Math.floor(Date.now() / 1000),
    text: '',
    finishReason: generation.finishReason,
    stopSequence: generation.stopSequence,
    promptTokens: promptIds.length,
    cachedTokens: 0,
    completionTokens: 0,
    reasoning: '',
    reasoningTokens: 0,
    ...(toolCall ? { toolCall } : {}),
  };
  if (toolCall) record.toolCall = toolCall;
  // the first `thinks` pieces are reasoning; at least one answer piece follows them
  const thinks = Math.max(
    0,
    Math.min(
      toolCall ? 0 : options.reasoningTokens,
      request.reasoningCap ?? Infinity,
      generation.pieces.length - 1,
    ),
  );
  record.id = completion.id;

  const openAi =
    request.api !== 'messages'
      ? new OpenAiStream(request.api as 'chat' | 'completions', completion, request.includeUsage)
      : undefined;
  const anthropic = request.api === 'messages' ? new AnthropicStream(completion) : undefined;
  let startedAt = arrivedAt;
  let lastTokenAt = arrivedAt;
  let chunks = 0;
  let ended = false;
  let finished = false;

  const end = (outcome: SimOutcome) => {
    if (ended) return;
    ended = true;
    record.outcome = outcome;
    record.text = completion.text;
    record.durationMs = clock.now() - arrivedAt;
    const reason = outcome === 'stop' || outcome === 'length' ? outcome : 'abort';
    ctx.metrics.finished(request.model, {
      reason,
      promptTokens: completion.promptTokens,
      outputTokens: completion.completionTokens,
      e2eS: record.durationMs / 1000,
      decodeS: (lastTokenAt - startedAt) / 1000,
    });
  };

  const handle = ctx.scheduler.submit(
    {
      promptTokens: promptIds,
      outputTokens,
      random:
        options.ttftStdDevMs > 0 || options.itlStdDevMs > 0
          ? seededRandom(hashSeed(options.seed, request.prompt, 'timing'))
          : undefined,
      ...(fault?.kind === 'stall' ? { stall: { beforeToken: fault.after, ms: fault.ms } } : {}),
    },
    {
      onStart(info) {
        startedAt = clock.now();
        completion.cachedTokens = info.cachedTokens;
        record.cachedTokens = info.cachedTokens;
      },
      onToken(index) {
        const now = clock.now();
        if (fault?.kind === 'cut' && chunks >= fault.after) {
          end('cut');
          res.destroy();
          return;
        }
        const piece = generation.pieces[index] ?? '';
        const thinking = index < thinks;
        completion.completionTokens++;
        record.completionTokens = completion.completionTokens;
        if (thinking) record.reasoningTokens = completion.reasoningTokens = record.reasoningTokens + 1;
        if (index === 0) {
          record.ttftMs = now - arrivedAt;
          ctx.metrics.firstToken(request.model, {
            promptTokens: completion.promptTokens,
            ttftS: (now - arrivedAt) / 1000,
            queueS: (startedAt - arrivedAt) / 1000,
            prefillS: (now - startedAt) / 1000,
          });
          ctx.metrics.token(request.model, undefined);
        } else ctx.metrics.token(request.model, (now - lastTokenAt) / 1000);
        lastTokenAt = now;
        if (!request.stream) {
          if (thinking) completion.reasoning = (completion.reasoning ?? '') + piece;
          else completion.text += piece;
          chunks++;
          return;
        }
        let out = '';
        if (index === 0) out += openAi ? openAi.start() : anthropic!.start(completion, thinks > 0);
        if (fault?.kind === 'malformed' && chunks === fault.after)
          out += openAi ? openAi.malformed() : anthropic!.malformed();
        if (piece !== '' && thinking) {
          out += openAi ? openAi.reasoning(piece) : anthropic!.reasoning(piece);
          completion.reasoning = (completion.reasoning ?? '') + piece;
        } else if (piece !== '') {
          out += openAi ? openAi.content(piece) : anthropic!.content(piece);
          completion.text += piece;
        }
        chunks++;
        res.write(out);
      },
      onDone() {
        // A cut (or aborted) request's generation may still run to its end: it sent no usage.
        if (ended) return;
        finished = true;
        if (request.stream) {
          res.end(openAi ? openAi.end(completion) : anthropic!.end(completion));
          record.usageReported = request.includeUsage;
        } else {
          send(
            res,
            200,
            openAi
              ? openAiResponse(request.api as 'chat' | 'completions', completion)
              : anthropicResponse(completion),
          );
          record.usageReported = true;
        }
        end(completion.finishReason === 'length' ? 'length' : 'stop');
      },
    },
  );
  if (!handle) {
    record.promptTokens = 0;
    record.id = '';
    refuse(queueFullError(options.maxWaiting), { 'retry-after': '1' });
    return;
  }
  record.status = 200;
  ctx.records.push(record);
  if (request.stream) {
    res.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
    });
    res.flushHeaders();
  }
  res.on('close', () => {
    if (finished) return;
    handle.abort();
    end(ended ? record.outcome : 'abort');
  });
}
