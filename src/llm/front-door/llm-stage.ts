/**
 * The `llm` stage: the front door of an AI service (a service with an `llm:` section). It runs
 * after `record` (so every AI request is reported once) and, for an AI service, answers the request
 * itself instead of passing it on to admit → pick → forward:
 *
 *   endpoint from the path (404) → the body, read whole by validate up to `llm.max_body` (413)
 *   → JSON and fields checked in the client's format (400 naming the field; a Responses API request
 *   is translated into the chat request the call is made of) → the model (404)
 *   → embeddings with no OpenAI-format backend (400) → the token reservation (429 with Retry-After
 *   and RateLimit-*; 400 when the request alone is over a whole limit) → the model's backends (llm-call.ts)
 *
 * Every error is in the client's format (OpenAI's error object, Anthropic's `type: "error"`). A
 * service without `llm:` costs one Map lookup here.
 */
import type { LlmStreamRecorder } from '../routing/llm-service-signals.js';
import type { Stage } from '../../gateway/pipeline/compose.js';
import type { Exchange } from '../../gateway/pipeline/exchange.js';
import { internalError } from '../../gateway/pipeline/send-error.js';
import { countPromptTokens, maxOutputTokens, type PromptFormat } from '../budget/count-prompt-tokens.js';
import type { PriceTable } from '../budget/prices.js';
import { oversizedFailure } from '../budget/oversized-request.js';
import { ERRORS, formatMessage } from '../../core/errors.js';
import type { Reservation, TokenLimiter } from '../budget/token-limiter.js';
import { isObject, tryParseJson, type Checked, type JsonObject } from '../formats/checked.js';
import { validateAnthropicMessages } from '../formats/validate-anthropic.js';
import { responsesToChat } from '../formats/responses-request.js';
import {
  validateOpenaiChat,
  validateOpenaiCompletion,
  validateOpenaiEmbedding,
} from '../formats/validate-openai.js';
import type { LlmModel } from './backends.js';
import { endpointOf, modelIdOf, type Endpoint, type EndpointKind } from './endpoints.js';
import { llmErrorText } from './error-body.js';
import type { FrontDoorContext, LlmCallRecord } from './front-door-context.js';
import { runCall } from './llm-call.js';
import type { UsageRow } from '../../store/usage-ledger.js';
import { formatsTranslation, type Translation } from './translation.js';

/** One AI service as the stage sees it. */
export interface LlmService {
  models: Map<string, LlmModel>;
  /** The service's balancer is the llm one: register each prompt's prefix before picking an instance. */
  prefixRouting?: boolean;
}

/** The stage's collaborators; all optional but `services`. */
export interface LlmStageOptions {
  /** AI services by service name. */
  services: Map<string, LlmService>;
  /** Token budgets: reserve before forwarding, settle at the end. */
  limiter?: TokenLimiter;
  prices?: PriceTable;
  translation?: Translation;
  /** One row per finished call (after its reservation is settled). */
  ledger?: { append(row: UsageRow): unknown };
  /** The GenAI metrics (gen_ai_client_token_usage, time to first token, ...). */
  metrics?: { record(row: UsageRow): void };
  /** Where the stream's own measurements go (the llm.* signals of services whose engines export none). */
  streams?: LlmStreamRecorder;
}

const PROMPT_FORMAT: Record<EndpointKind, PromptFormat> = {
  chat: 'openai-chat',
  completions: 'openai-completions',
  embeddings: 'openai-embeddings',
  messages: 'anthropic-messages',
  count_tokens: 'anthropic-messages',
  models: 'openai-chat',
  // counted on the chat request it was translated into
  responses: 'openai-chat',
};

const VALIDATE: Record<Exclude<EndpointKind, 'models'>, (b: unknown) => Checked<unknown>> = {
  chat: validateOpenaiChat,
  completions: validateOpenaiCompletion,
  embeddings: validateOpenaiEmbedding,
  messages: validateAnthropicMessages,
  // Anthropic's count_tokens takes a Messages request without max_tokens.
  count_tokens: (b) => validateAnthropicMessages(isObject(b) ? { max_tokens: 1, ...b } : b),
  // checked and translated into the chat request the call is made of (formats/responses-request.ts)
  responses: responsesToChat,
};

/** The `llm` stage over the given AI services. */
export function createLlmStage(options: LlmStageOptions): Stage {
  const ctx: FrontDoorContext = {
    translation: options.translation ?? formatsTranslation,
    onRecord: (r) => settleAndRecord(options, r),
    streams: options.streams,
  };
  return {
    name: 'llm',
    enter(ex) {
      const svc = options.services.get(ex.route.data.svc.name);
      if (svc === undefined) return ex.next();
      frontDoor(ex, { svc, options, ctx });
    },
  };
}

interface Door {
  svc: LlmService;
  options: LlmStageOptions;
  ctx: FrontDoorContext;
}

function frontDoor(ex: Exchange, door: Door): void {
  const ep = endpointOf(ex.path);
  if (ep === undefined)
    return fail(ex, 'openai', { status: 404, message: `unknown endpoint ${ex.path}`, code: 'unknown_url' });
  if (ex.method !== ep.method)
    return fail(ex, ep.format, {
      status: 405,
      message: `${ex.path} takes ${ep.method}`,
      code: 'method_not_allowed',
    });
  if (ep.kind === 'models') return listModels(ex, door.svc);
  bodyOf(ex)
    .then(
      (raw) => withBody(ex, { door, ep, raw }),
      (err: Error) => fail(ex, ep.format, { status: 413, message: err.message, code: 'request_too_large' }),
    )
    .catch((err: unknown) => {
      // Caught at the edge: a bug costs this request, never the process.
      internalError(ex.res, err);
      ex.finish();
    });
}

async function withBody(ex: Exchange, a: { door: Door; ep: Endpoint; raw: Buffer }): Promise<void> {
  const { door, ep } = a;
  // A leading UTF-8 byte order mark is dropped, as RFC 8259 §8.1 allows (some Windows clients send
  // one), also from the bytes a backend is sent.
  const raw = a.raw[0] === 0xef && a.raw[1] === 0xbb && a.raw[2] === 0xbf ? a.raw.subarray(3) : a.raw;
  const parsed = tryParseJson(raw.toString('utf8'));
  if (!isObject(parsed)) {
    const message = parsed === undefined ? 'the body is not valid JSON' : 'the body must be a JSON object';
    return fail(ex, ep.format, { status: 400, message, param: 'body' });
  }
  const checked = VALIDATE[ep.kind as Exclude<EndpointKind, 'models'>](parsed);
  if (!checked.ok)
    return fail(ex, ep.format, {
      status: 400,
      message: checked.message, // it names its field already (`model: must be ...`)
      param: checked.field,
    });
  // A Responses request goes on as the chat request it was translated into.
  const translated = ep.kind === 'responses';
  const body = (translated ? checked.value : parsed) as JsonObject;
  const sent = translated ? Buffer.from(JSON.stringify(body)) : raw;
  const name = String(body.model);
  const model = door.svc.models.get(name);
  if (model === undefined)
    return fail(ex, ep.format, {
      status: 404,
      message: `The model \`${name}\` does not exist`,
      code: 'model_not_found',
      param: 'model',
    });
  // Counted offline (docs/llm.md: exact against llm-sim, an estimate for other models); nothing is
  // reserved or recorded in the ledger, as no tokens are generated.
  if (ep.kind === 'count_tokens')
    return answerJson(ex, JSON.stringify({ input_tokens: countPromptTokens(body, 'anthropic-messages') }));
  if (ep.kind === 'embeddings' && !model.backends.some((b) => b.format === 'openai'))
    return fail(ex, ep.format, {
      status: 400,
      message: formatMessage(ERRORS.LS_ERR_LLM_CANNOT_EMBED.message, {
        model: name,
        backends: model.backends
          .map((b) => (b.kind === 'instances' ? `instances, format ${b.format}` : b.label))
          .join('; '),
      }),
      code: 'LS_ERR_LLM_CANNOT_EMBED',
      param: 'model',
    });
  // The prompt is tokenized only when something needs its count (a reservation, an estimate,
  // Anthropic's message_start for a translated stream): the tokenizer is the costliest step here.
  const format = PROMPT_FORMAT[ep.kind];
  const maxOutput = maxOutputTokens(body, format) ?? model.maxTokensDefault;
  let prompt = -1;
  const promptTokens = () => (prompt < 0 ? (prompt = countPromptTokens(body, format)) : prompt);
  let reservation: Reservation | undefined;
  const limiter = door.options.limiter;
  if (limiter !== undefined && ex.consumer !== '') {
    const costUsd = door.options.prices?.maxCostOf(name, promptTokens(), maxOutput) ?? 0;
    const v = await limiter.reserve({
      consumer: ex.consumer,
      model: name,
      tokens: promptTokens() + maxOutput,
      costUsd,
      now: ex.g.clock.wallNow(),
    });
    if (!v.ok && v.exceeds !== undefined)
      return fail(
        ex,
        ep.format,
        oversizedFailure(v.limit, v.exceeds, {
          consumer: ex.consumer,
          body: parsed as JsonObject, // the client's own field names
          promptTokens: promptTokens(),
          maxTokens: maxOutput,
          costOf: (p, o) => door.options.prices?.maxCostOf(name, p, o) ?? 0,
        }),
      );
    if (!v.ok)
      return fail(ex, ep.format, {
        status: 429,
        message: `token limit ${v.limit} of consumer ${ex.consumer} reached; retry in ${Math.ceil(v.retryAfterS)} s`,
        code: 'rate_limit_exceeded',
        headers: { ...v.headers, 'retry-after': String(Math.max(1, Math.ceil(v.retryAfterS))) },
      });
    reservation = v.reservation;
    ex.admitHeaders = { ...ex.admitHeaders, ...v.headers };
  }
  if (ex.res.destroyed) {
    if (reservation !== undefined)
      void limiter!.settle(reservation, { tokens: 0, costUsd: 0, now: ex.g.clock.wallNow() });
    return ex.finish();
  }
  await runCall({
    ex,
    model,
    endpoint: ep,
    body,
    raw: sent,
    ...(translated ? { clientBody: parsed } : {}),
    promptTokens,
    maxOutput,
    reservation,
    ctx: door.ctx,
    prefixRouting: door.svc.prefixRouting,
  });
}

/** The whole body: validate read it up to max_body (a buffer), or it is read here (a larger chunked one). */
async function bodyOf(ex: Exchange): Promise<Buffer> {
  const b = ex.body;
  if (b === null || b === undefined) return Buffer.alloc(0);
  if (Buffer.isBuffer(b)) return b;
  if (typeof b === 'string') return Buffer.from(b);
  const parts: Buffer[] = [];
  const max = ex.route.data.maxBody;
  let n = 0;
  for await (const c of b as AsyncIterable<Buffer>) {
    n += c.length;
    if (n > max) throw new Error(`request body exceeds ${max} bytes`);
    parts.push(c);
  }
  ex.bytesIn = n;
  return Buffer.concat(parts);
}

/** GET /v1/models: both clients' list shapes in one body (OpenAI's `object`/`owned_by`, Anthropic's `type`/`display_name`). */
/**
 * `GET /v1/models` lists the service's models, `GET /v1/models/{id}` answers one (404 if unknown),
 * each object with OpenAI's fields and Anthropic's, so both SDKs read it.
 */
function listModels(ex: Exchange, svc: LlmService): void {
  const modelObject = (id: string) => ({
    id,
    object: 'model',
    created: 0,
    owned_by: 'luascale',
    type: 'model',
    display_name: id,
    created_at: '1970-01-01T00:00:00.000Z',
  });
  const one = modelIdOf(ex.path);
  let body: string;
  if (one !== undefined) {
    if (!svc.models.has(one)) {
      const format = ex.req.headers['anthropic-version'] === undefined ? 'openai' : 'anthropic';
      const message = `The model '${one}' does not exist`;
      return fail(ex, format, { status: 404, message, code: 'model_not_found', param: 'model' });
    }
    body = JSON.stringify(modelObject(one));
  } else {
    const data = [...svc.models.keys()].map(modelObject);
    const [first, last] = [data[0]?.id ?? null, data.at(-1)?.id ?? null];
    body = JSON.stringify({ object: 'list', data, has_more: false, first_id: first, last_id: last });
  }
  answerJson(ex, body);
}

/** Answers 200 with a JSON body the front door made itself (no backend was asked). */
function answerJson(ex: Exchange, body: string): void {
  ex.status = 200;
  ex.res.writeHead(200, { 'content-type': 'application/json', 'x-request-id': ex.requestId });
  ex.res.end(body);
  ex.finish();
}

/** Answers an error in the client's format and ends the exchange (nothing reached a backend). */
function fail(
  ex: Exchange,
  format: Endpoint['format'],
  e: { status: number; message: string; code?: string; param?: string; headers?: Record<string, string> },
): void {
  ex.shedReason = e.status === 429 ? 'rate_limit' : 'invalid_request';
  if (!ex.res.headersSent && !ex.res.destroyed) {
    const body = llmErrorText(format, e);
    ex.status = e.status;
    if (e.status === 413) ex.res.shouldKeepAlive = false; // the unread rest of the body
    ex.res.writeHead(e.status, {
      'content-type': 'application/json',
      'x-request-id': ex.requestId,
      ...e.headers,
    });
    ex.res.end(body);
  }
  ex.finish();
}

/** The end of a call: settle its reservation to the real tokens and cost, then hand the record on. */
function settleAndRecord(options: LlmStageOptions, r: LlmCallRecord): void {
  const u = r.usage;
  const costUsd = options.prices?.costOf(r.model, u) ?? 0;
  if (r.reservation !== undefined && options.limiter !== undefined)
    options.limiter.settle(r.reservation, { tokens: u.input + u.output, costUsd, now: r.time }).catch(() => {
      // a settle that fails (Redis out) leaves the reservation's estimate charged: fail safe
    });
  const row: UsageRow = {
    time: r.time,
    requestId: r.requestId,
    service: r.service,
    consumer: r.consumer,
    keyId: r.keyId === '' ? null : r.keyId,
    model: r.model,
    backend: r.backend,
    ...u,
    costUsd,
    ttftMs: r.ttftMs < 0 ? null : r.ttftMs,
    durationMs: r.durationMs,
    status: r.status,
    outcome: r.outcome,
    usageSource: r.usageSource,
  };
  try {
    const appended = options.ledger?.append(row);
    if (appended instanceof Promise) appended.catch(() => {});
    options.metrics?.record(row);
  } catch {
    // the ledger is the store's: an error there must not cost the response (it is already sent)
  }
}
