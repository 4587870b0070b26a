/**
 * The llm-sim HTTP server: listening, routes, bodies, authentication and the stats that tests
 * compare a gateway's usage against. `startLlmSim(options)` is the library entry point; one
 * generation request's lifecycle is in generation-handler.ts.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KvCache } from './kv-cache.js';
import { Scheduler, realClock } from './scheduler.js';
import { createSimMetrics } from './metrics.js';
import { generate, type GenerationRequest } from './text-generator.js';
import { hashSeed, seededRandom } from './random.js';
import { parseChatRequest, parseCompletionRequest, openAiModels } from './openai-format.js';
import { parseMessagesRequest, anthropicModels } from './anthropic-format.js';
import { embeddingResponse, parseEmbeddingRequest } from './embedding-handler.js';
import { DEFAULT_LLM_SIM_OPTIONS, type LlmSimOptions } from './llm-sim-options.js';
import type { ParseResult, SimApi } from './sim-request.js';
import {
  generateResponse,
  send,
  sendError,
  type HandlerContext,
  type LlmSimRequestRecord,
} from './generation-handler.js';

export type { LlmSimRequestRecord, SimOutcome } from './generation-handler.js';

/** A running llm-sim. */
export interface LlmSim {
  /** `http://host:port` (no trailing slash). */
  url: string;
  /** Every request so far, in arrival order, and totals. */
  stats(): LlmSimStats;
  /** The /metrics text now. */
  metrics(): Promise<string>;
  /** Running and waiting sequences now. */
  load(): { running: number; waiting: number; kvUsage: number };
  /** Resolves when no request is open (every response ended or its connection closed). */
  idle(): Promise<void>;
  /** Stops listening and ends open streams. */
  close(): Promise<void>;
}

/** llm-sim's own counts. */
export interface LlmSimStats {
  requests: LlmSimRequestRecord[];
  totals: { requests: number; promptTokens: number; cachedTokens: number; completionTokens: number };
}

const MAX_BODY_BYTES = 16 * 1024 * 1024;

const WARM_UP: Omit<GenerationRequest, 'seed'> = {
  prompt: 'warm up',
  echoText: 'warm up',
  mode: 'random',
  outputTokens: { min: 1, max: 1 },
  maxTokens: 1,
  stop: [],
};

/** Starts an llm-sim; resolves when it listens. */
export async function startLlmSim(overrides: Partial<LlmSimOptions> = {}): Promise<LlmSim> {
  const options: LlmSimOptions = { ...DEFAULT_LLM_SIM_OPTIONS, ...overrides };
  const clock = options.clock ?? realClock;
  const kv = new KvCache({ totalBlocks: options.kvBlocks, blockSize: options.blockSize });
  const scheduler = new Scheduler({
    timing: {
      prefillOverheadMs: options.prefillOverheadMs,
      prefillPerTokenMs: options.prefillPerTokenMs,
      ttftMs: options.ttftMs,
      ttftStdDevMs: options.ttftStdDevMs,
      itlMs: options.itlMs,
      itlStdDevMs: options.itlStdDevMs,
      timeFactorUnderLoad: options.timeFactorUnderLoad,
      maxNumSeqs: options.maxNumSeqs,
    },
    maxWaiting: options.maxWaiting,
    kv,
    clock,
    timeScale: options.timeScale,
  });
  const metrics = createSimMetrics({
    names: options.metricNames,
    model: options.models[0] ?? 'llm-sim',
    state: () => ({ running: scheduler.running, waiting: scheduler.waiting, kv: kv.snapshot() }),
  });
  const records: LlmSimRequestRecord[] = [];
  const faultRandom = seededRandom(hashSeed(options.seed, 'faults'));
  // Load the tokenizer's ranks and the vocabulary now, not inside the first request's TTFT.
  generate({ ...WARM_UP, seed: options.seed });
  const open = new Set<ServerResponse>();
  const idlers: Array<() => void> = [];
  const context: HandlerContext = { options, clock, scheduler, metrics, records, faultRandom, kv };

  const server: Server = createServer((req, res) => {
    open.add(res);
    res.on('close', () => {
      open.delete(res);
      if (open.size === 0) for (const resolve of idlers.splice(0)) resolve();
    });
    handle(context, req, res).catch((err: unknown) => {
      if (!res.headersSent)
        send(res, 500, { error: { message: String(err), type: 'server_error', param: null, code: null } });
      else res.destroy();
    });
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}`,
    stats: () => statsOf(records),
    metrics: () => metrics.registry.metrics(),
    load: () => ({ running: scheduler.running, waiting: scheduler.waiting, kvUsage: kv.snapshot().usage }),
    idle: () => (open.size === 0 ? Promise.resolve() : new Promise<void>((resolve) => idlers.push(resolve))),
    close: () =>
      new Promise<void>((resolve) => {
        for (const res of open) res.destroy();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function statsOf(records: LlmSimRequestRecord[]): LlmSimStats {
  const totals = { requests: records.length, promptTokens: 0, cachedTokens: 0, completionTokens: 0 };
  for (const r of records) {
    totals.promptTokens += r.promptTokens;
    totals.cachedTokens += r.cachedTokens;
    totals.completionTokens += r.completionTokens;
  }
  return { requests: records.map((r) => ({ ...r })), totals };
}

async function readBody(req: IncomingMessage): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function authorized(options: LlmSimOptions, req: IncomingMessage): boolean {
  if (options.apiKey === undefined) return true;
  const bearer = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '')?.[1];
  return bearer === options.apiKey || req.headers['x-api-key'] === options.apiKey;
}

/** Parses a generation body and answers it. */
function generation(api: SimApi, parse: (body: unknown) => ParseResult): RouteAnswer {
  return async (ctx, req, res, body) => {
    const parsed = parse(body);
    if (!parsed.ok) sendError(res, api, parsed.error);
    else await generateResponse(ctx, req, res, parsed.request);
  };
}

type RouteAnswer = (
  ctx: HandlerContext,
  req: IncomingMessage,
  res: ServerResponse,
  body: unknown,
) => Promise<void>;

const ROUTES: Record<string, { api: SimApi; answer: RouteAnswer; flavour: 'openai' | 'anthropic' }> = {
  '/v1/chat/completions': { api: 'chat', answer: generation('chat', parseChatRequest), flavour: 'openai' },
  '/v1/completions': {
    api: 'completions',
    answer: generation('completions', parseCompletionRequest),
    flavour: 'openai',
  },
  '/v1/messages': {
    api: 'messages',
    answer: generation('messages', parseMessagesRequest),
    flavour: 'anthropic',
  },
  '/v1/embeddings': {
    api: 'embeddings',
    answer: async (ctx, req, res, body) => {
      const parsed = parseEmbeddingRequest(body);
      if (!parsed.ok) sendError(res, 'embeddings', parsed.error);
      else embeddingResponse(ctx, req, res, parsed.request);
    },
    flavour: 'openai',
  },
};

function serves(options: LlmSimOptions, flavour: 'openai' | 'anthropic'): boolean {
  return options.api === 'both' || options.api === flavour;
}

async function handle(ctx: HandlerContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const { options } = ctx;
  const path = (req.url ?? '/').split('?')[0]!;
  const anthropicOnly = options.api === 'anthropic';
  const errorApi: SimApi = anthropicOnly || path === '/v1/messages' ? 'messages' : 'chat';
  if (req.method === 'GET' && path === '/health') {
    res.writeHead(200, { 'content-length': 0 });
    res.end();
    return;
  }
  if (req.method === 'GET' && path === '/metrics') {
    const text = await ctx.metrics.registry.metrics();
    res.writeHead(200, { 'content-type': ctx.metrics.registry.contentType });
    res.end(text);
    return;
  }
  if (!authorized(options, req)) {
    req.resume();
    sendError(res, errorApi, {
      status: 401,
      type: 'invalid_request_error',
      message: 'Incorrect API key provided.',
      param: null,
      code: 'invalid_api_key',
    });
    return;
  }
  if (req.method === 'GET' && path === '/v1/models') {
    const created = Math.floor(Date.now() / 1000);
    send(
      res,
      200,
      anthropicOnly
        ? anthropicModels(options.models, new Date(created * 1000).toISOString())
        : openAiModels(options.models, created),
    );
    return;
  }
  const route = ROUTES[path];
  if (!route || !serves(options, route.flavour)) {
    req.resume();
    sendError(res, errorApi, {
      status: 404,
      type: 'invalid_request_error',
      message: `no route ${req.method} ${path}`,
      param: null,
      code: 'not_found',
    });
    return;
  }
  if (req.method !== 'POST') {
    req.resume();
    sendError(res, route.api, {
      status: 405,
      type: 'invalid_request_error',
      message: `${req.method} ${path}: use POST`,
      param: null,
      code: null,
    });
    return;
  }
  const text = await readBody(req);
  if (text === undefined) {
    sendError(res, route.api, {
      status: 413,
      type: 'invalid_request_error',
      message: `request body exceeds ${MAX_BODY_BYTES} bytes`,
      param: null,
      code: null,
    });
    return;
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (err) {
    sendError(res, route.api, {
      status: 400,
      type: 'invalid_request_error',
      message: `the body is not valid JSON: ${(err as Error).message}`,
      param: null,
      code: null,
    });
    return;
  }
  await route.answer(ctx, req, res, body);
}
