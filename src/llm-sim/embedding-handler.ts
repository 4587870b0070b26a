/**
 * `POST /v1/embeddings`, OpenAI's Embeddings API as vLLM serves it for an embedding model: one
 * prefill pass over every input, scheduled as a sequence with a single step (so it takes a seat,
 * waits in the queue, answers 429 when the queue is full and counts in the metrics), then one
 * deterministic unit vector per input, from `--seed` and the input: the same input always gets
 * the same vector, so cosine similarity of a text with itself is 1.
 *
 * `encoding_format: "base64"` (what the official `openai` client asks for unless told otherwise)
 * sends each vector as the base64 of its little-endian float32 bytes, as OpenAI does;
 * `dimensions` shortens the vector (OpenAI's text-embedding-3 models), renormalised.
 * Faults apply as to a non-streamed answer: a status, a stall, a context-length error, a cut
 * (the connection closes before the answer) or a malformed (truncated) body.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { encodeText } from './tokenizer.js';
import { hashSeed, normal, seededRandom } from './random.js';
import { randomUUID } from 'node:crypto';
import {
  injectedStatusError,
  modelNotFound,
  newRecord,
  pickFault,
  queueFullError,
  send,
  sendError,
  type HandlerContext,
} from './generation-handler.js';
import { invalid, isObject, type SimError } from './sim-request.js';

/** Inputs in one request at most (OpenAI's limit). */
const MAX_INPUTS = 2048;

/** A parsed embeddings request. */
export interface EmbeddingRequest {
  model: string;
  /** Each input's token ids. */
  inputs: number[][];
  /** Each input as the key its vector is drawn from. */
  keys: string[];
  base64: boolean;
  dimensions: number | undefined;
}

/** Parses an embeddings body; errors in OpenAI's wording, naming the field. */
export function parseEmbeddingRequest(
  body: unknown,
): { ok: true; request: EmbeddingRequest } | { ok: false; error: SimError } {
  if (!isObject(body)) return invalid(null, 'the body must be a JSON object');
  if (typeof body.model !== 'string' || body.model === '')
    return invalid('model', 'model: a string is required');
  const items = inputItems(body.input);
  if (typeof items === 'string') return invalid('input', items);
  const format = body.encoding_format ?? 'float';
  if (format !== 'float' && format !== 'base64')
    return invalid('encoding_format', "encoding_format: must be 'float' or 'base64'");
  const dims = body.dimensions;
  if (dims !== undefined && dims !== null && !(Number.isInteger(dims) && (dims as number) >= 1))
    return invalid('dimensions', 'dimensions: must be an integer of at least 1');
  const inputs = items.map((item) => (typeof item === 'string' ? encodeText(item) : item));
  const keys = items.map((item) => (typeof item === 'string' ? item : `\u0000${item.join(',')}`));
  return {
    ok: true,
    request: {
      model: body.model,
      inputs,
      keys,
      base64: format === 'base64',
      dimensions: (dims ?? undefined) as number | undefined,
    },
  };
}

/** `input`: a string, an array of strings, an array of token ids, or an array of those; else why not. */
function inputItems(input: unknown): Array<string | number[]> | string {
  const isTokens = (v: unknown): v is number[] =>
    Array.isArray(v) && v.length > 0 && v.every((t) => Number.isInteger(t) && (t as number) >= 0);
  let items: unknown[];
  if (typeof input === 'string') items = [input];
  else if (isTokens(input)) items = [input];
  else if (Array.isArray(input)) items = input;
  else return 'input: a string, an array of strings or an array of token arrays is required';
  if (items.length === 0) return 'input: must not be empty';
  if (items.length > MAX_INPUTS) return `input: at most ${MAX_INPUTS} inputs per request`;
  for (const [i, item] of items.entries()) {
    if (typeof item === 'string' ? item === '' : !isTokens(item))
      return `input[${i}]: a non-empty string or array of token ids is required`;
  }
  return items as Array<string | number[]>;
}

/** A unit vector of `dims` values drawn from the seed and the input's key. */
export function embeddingOf(seed: number, key: string, dims: number): number[] {
  const random = seededRandom(hashSeed(seed, 'embedding', key));
  const v = Array.from({ length: dims }, () => normal(random));
  const norm = Math.hypot(...v) || 1;
  return v.map((x) => x / norm);
}

/** A vector as OpenAI's base64: its little-endian float32 bytes. */
function toBase64(v: number[]): string {
  const bytes = Buffer.alloc(v.length * 4);
  v.forEach((x, i) => bytes.writeFloatLE(x, i * 4));
  return bytes.toString('base64');
}

/** Answers one parsed embeddings request. */
export function embeddingResponse(
  ctx: HandlerContext,
  req: IncomingMessage,
  res: ServerResponse,
  request: EmbeddingRequest,
): void {
  const { options, clock } = ctx;
  const arrivedAt = clock.now();
  const promptTokens = request.inputs.reduce((n, ids) => n + ids.length, 0);
  const record = newRecord('embeddings', request.model, false);
  ctx.records.push(record);
  const refuse = (e: SimError, headers?: Record<string, string>) => {
    record.status = e.status;
    record.durationMs = clock.now() - arrivedAt;
    sendError(res, 'embeddings', e, headers);
  };
  if (!options.models.includes(request.model)) {
    refuse(modelNotFound(request.model));
    return;
  }
  const dims = request.dimensions ?? options.embeddingDims;
  if (dims > options.embeddingDims) {
    refuse(invalid('dimensions', `dimensions: at most ${options.embeddingDims} for this model`).error);
    return;
  }
  const picked = pickFault(ctx, req);
  if ('status' in picked) {
    refuse(picked);
    return;
  }
  const { fault } = picked;
  record.fault = picked.spec;
  if (fault?.kind === 'status') {
    refuse(injectedStatusError(fault.status), fault.status === 429 ? { 'retry-after': '1' } : {});
    return;
  }
  const longest = Math.max(...request.inputs.map((ids) => ids.length));
  if (fault?.kind === 'context-length' || longest > options.maxModelLen) {
    refuse({
      status: 400,
      type: 'invalid_request_error',
      message:
        `This model's maximum context length is ${options.maxModelLen} tokens. ` +
        `However, you requested ${longest} tokens in the input for embedding generation. Please reduce the length of the input.`,
      param: 'input',
      code: 'context_length_exceeded',
    });
    return;
  }
  let startedAt = arrivedAt;
  let answered = false;
  const handle = ctx.scheduler.submit(
    {
      promptTokens: request.inputs.flat(),
      outputTokens: 1,
      ...(fault?.kind === 'stall' ? { stall: { beforeToken: 0, ms: fault.ms } } : {}),
    },
    {
      onStart(info) {
        startedAt = clock.now();
        record.cachedTokens = info.cachedTokens;
      },
      onToken() {},
      onDone() {
        answered = true;
        const now = clock.now();
        record.promptTokens = promptTokens;
        record.ttftMs = record.durationMs = now - arrivedAt;
        ctx.metrics.firstToken(request.model, {
          promptTokens,
          ttftS: (now - arrivedAt) / 1000,
          queueS: (startedAt - arrivedAt) / 1000,
          prefillS: (now - startedAt) / 1000,
        });
        ctx.metrics.finished(request.model, {
          reason: 'stop',
          promptTokens,
          outputTokens: 0,
          e2eS: (now - arrivedAt) / 1000,
          decodeS: 0,
        });
        if (fault?.kind === 'cut') {
          record.outcome = 'cut';
          res.destroy();
          return;
        }
        record.id = `embd-${randomUUID().replaceAll('-', '')}`;
        record.outcome = 'stop';
        record.usageReported = true;
        const body = {
          id: record.id,
          object: 'list',
          created: Math.floor(Date.now() / 1000),
          model: request.model,
          data: request.keys.map((key, index) => {
            const v = embeddingOf(options.seed, key, dims);
            return { index, object: 'embedding', embedding: request.base64 ? toBase64(v) : v };
          }),
          usage: { prompt_tokens: promptTokens, total_tokens: promptTokens },
        };
        if (fault?.kind !== 'malformed') {
          send(res, 200, body);
          return;
        }
        const text = JSON.stringify(body);
        const half = text.slice(0, Math.floor(text.length / 2));
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(half) });
        res.end(half);
      },
    },
  );
  if (!handle) {
    refuse(queueFullError(options.maxWaiting), { 'retry-after': '1' });
    return;
  }
  record.status = 200;
  res.on('close', () => {
    if (answered) return;
    handle.abort();
    record.outcome = 'abort';
    record.durationMs = clock.now() - arrivedAt;
  });
}
