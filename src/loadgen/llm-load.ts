/**
 * Replays a token trace (one request per row: arrival time, prompt tokens, output tokens) against
 * an OpenAI- or Anthropic-compatible endpoint, open loop: each request is sent at its arrival
 * time whatever the earlier ones do (coordinated omission avoided, as in load-generator.ts), and an
 * arrival due while `maxInFlight` are outstanding is dropped and counted.
 *
 * Each request streams a chat with a prompt of exactly the row's tokens (promptText) and the row's
 * output tokens as `max_tokens`, and asks for usage (`stream_options.include_usage`; Anthropic
 * sends it anyway). Measured as vLLM's `benchmark_serving` does: TTFT (sent → first generated
 * token), ITL (the gap before each later read that carried tokens), TPOT per request
 * ((end − first token) / (output tokens − 1)) and end to end; tokens as the server reported them.
 * A stream is an error when its status is not 2xx, it carries an error event, or it ends without
 * its last event (`[DONE]`, `message_stop`).
 */
import { Pool } from 'undici';
import { systemClock, type Clock } from '../core/clock.js';
import { histogram, recordMs, summarise, type LatencySummary } from './latency-histogram.js';

/** The requests to send, in arrival order, as columns (the simulator's expanded token trace fits). */
export interface TokenRequests {
  atMs: ArrayLike<number>;
  context: ArrayLike<number>;
  generated: ArrayLike<number>;
}

/** Options of {@link runLlmLoad}. */
export interface LlmLoadOptions {
  /** The endpoint: `…/v1/chat/completions` (OpenAI) or `…/v1/messages` (Anthropic). */
  url: string;
  api: 'openai' | 'anthropic';
  model: string;
  requests: TokenRequests;
  /** Stop sending at this time from the start. */
  durationMs: number;
  /** Default 1,000,000. */
  maxRequests?: number;
  /** Default 1024. */
  maxInFlight?: number;
  /** Default 128. */
  connections?: number;
  /** Per request, to its last byte. Default 300 s. */
  timeoutMs?: number;
  headers?: Record<string, string>;
  signal?: AbortSignal;
  clock?: Clock;
  onProgress?: (p: LlmLoadProgress) => void;
  progressMs?: number;
}

/** A live snapshot. */
export interface LlmLoadProgress {
  elapsedMs: number;
  durationMs: number;
  sent: number;
  ok: number;
  failed: number;
  inFlight: number;
  outputTokens: number;
}

/** Token totals: what the trace asked for and what the server reported. */
export interface LlmTokenTotals {
  /** Sum of the prompts sent (the trace's context tokens). */
  promptSent: number;
  /** Sum of `max_tokens` sent. */
  maxOutput: number;
  /** Reported by the server (requests with usage only). */
  prompt: number;
  output: number;
  /** Successful streams that reported no usage. */
  withoutUsage: number;
}

/** The result of one replay. */
export interface LlmLoadSummary {
  url: string;
  api: 'openai' | 'anthropic';
  model: string;
  elapsedMs: number;
  sent: number;
  ok: number;
  errors: number;
  dropped: number;
  statuses: Record<string, number>;
  /** Count per error kind: `HTTP 429`, `stream error event`, `stream cut`, `timeout`, or undici's code. */
  errorKinds: Record<string, number>;
  /** The first message seen per error kind (the error body's or event's `error.message`). */
  errorSamples: Record<string, string>;
  ttftMs: LatencySummary;
  itlMs: LatencySummary;
  tpotMs: LatencySummary;
  e2eMs: LatencySummary;
  tokens: LlmTokenTotals;
  /** Reported output tokens per second of elapsed time. */
  outputTokensPerS: number;
  /** Completed requests per second of elapsed time. */
  requestsPerS: number;
  maxInFlightSeen: number;
  stoppedBy: 'duration' | 'end-of-trace' | 'max-requests' | 'signal';
}

// Words of one token each in o200k_base, with or without a leading space, so a prompt of n words
// is n tokens (test/loadgen/llm-load.test.ts checks it with the tokenizer).
const WORDS = (
  'the of and to in is that for it as was with be by on not he this are or his from at which but ' +
  'have an they you were her she there had all one their we can been has more if no so would what ' +
  'when will up out who them some into other than then its time only new could these two may first ' +
  'any like now my such make over our even most me state after also made many did must before back ' +
  'see through way where get much go well your know should down work year because come people just ' +
  'say each those take day good how long very own being high same life another while last might ' +
  'great old us here thing give part house world'
).split(' ');

/** A prompt of `tokens` tokens (o200k_base), different for each `i` from its first word on. */
export function promptText(i: number, tokens: number): string {
  const out: string[] = [];
  for (let j = 0; j < tokens; j++) {
    const h = (Math.imul(i + 1, 0x9e3779b1) ^ Math.imul(j + 1, 0x85ebca6b)) >>> 0;
    out.push(WORDS[((h ^ (h >>> 15)) >>> 0) % WORDS.length]!);
  }
  return out.join(' ');
}

function requestBody(o: LlmLoadOptions, i: number): string {
  const content = promptText(i, o.requests.context[i]!);
  const maxTokens = Math.max(1, o.requests.generated[i]!);
  const messages = [{ role: 'user', content }];
  return JSON.stringify(
    o.api === 'openai'
      ? {
          model: o.model,
          messages,
          max_tokens: maxTokens,
          stream: true,
          stream_options: { include_usage: true },
        }
      : { model: o.model, messages, max_tokens: maxTokens, stream: true },
  );
}

/** What one stream's events said. */
interface StreamState {
  tokens: number;
  promptTokens: number | undefined;
  outputTokens: number | undefined;
  ended: boolean;
  error: boolean;
  /** The error event's message. */
  message?: string;
}

/** The message of an error body or event (OpenAI's and Anthropic's `error.message`), else the text, short. */
function errorMessage(text: string): string {
  let message = text;
  try {
    const e = JSON.parse(text) as { error?: { message?: unknown } | string };
    const m = typeof e.error === 'string' ? e.error : e.error?.message;
    if (typeof m === 'string') message = m;
  } catch {
    // not JSON: the text itself
  }
  message = message.replace(/\s+/g, ' ').trim();
  return message.length > 200 ? `${message.slice(0, 199)}…` : message;
}

/** Reads one SSE `data:` payload into the state; returns whether it carried generated tokens. */
function readEvent(api: 'openai' | 'anthropic', data: string, s: StreamState): boolean {
  if (data === '[DONE]') {
    s.ended = true;
    return false;
  }
  let e: Record<string, any>; // a wire event, read field by field
  try {
    e = JSON.parse(data);
  } catch {
    s.error = true;
    s.message ??= `a data line that is not JSON: ${data.slice(0, 80)}`;
    return false;
  }
  if (e.error !== undefined) {
    s.error = true;
    s.message ??= errorMessage(data);
  }
  if (api === 'openai') {
    if (e.usage) {
      s.promptTokens = e.usage.prompt_tokens;
      s.outputTokens = e.usage.completion_tokens;
    }
    const d = e.choices?.[0]?.delta;
    return !!d && !!(d.content || d.reasoning_content || d.reasoning || d.tool_calls);
  }
  switch (e.type) {
    case 'message_start': {
      const u = e.message?.usage ?? {};
      s.promptTokens =
        (u.input_tokens ?? 0) + (u.cache_read_input_tokens ?? 0) + (u.cache_creation_input_tokens ?? 0);
      return false;
    }
    case 'content_block_delta':
      return true;
    case 'message_delta':
      // cumulative counts; input_tokens here too when the server knows them only at the end
      if (e.usage?.input_tokens !== undefined)
        s.promptTokens =
          e.usage.input_tokens +
          (e.usage.cache_read_input_tokens ?? 0) +
          (e.usage.cache_creation_input_tokens ?? 0);
      if (e.usage?.output_tokens !== undefined) s.outputTokens = e.usage.output_tokens;
      return false;
    case 'message_stop':
      s.ended = true;
      return false;
    default:
      return false;
  }
}

/** Runs one replay and resolves with its summary once every sent request has finished. */
export async function runLlmLoad(o: LlmLoadOptions): Promise<LlmLoadSummary> {
  const clock = o.clock ?? systemClock;
  const url = new URL(o.url);
  const path = `${url.pathname}${url.search}`;
  const maxRequests = o.maxRequests ?? 1_000_000;
  const maxInFlight = o.maxInFlight ?? 1024;
  const timeoutMs = o.timeoutMs ?? 300_000;
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    ...(o.api === 'anthropic' ? { 'anthropic-version': '2023-06-01' } : {}),
    ...o.headers,
  };
  const pool = new Pool(url.origin, {
    connections: o.connections ?? 128,
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
    connectTimeout: Math.min(timeoutMs, 10_000),
  });
  const h = { ttft: histogram(), itl: histogram(), tpot: histogram(), e2e: histogram() };
  const statuses: Record<string, number> = {};
  const errorKinds: Record<string, number> = {};
  const errorSamples: Record<string, string> = {};
  const tokens: LlmTokenTotals = { promptSent: 0, maxOutput: 0, prompt: 0, output: 0, withoutUsage: 0 };
  const c = { sent: 0, ok: 0, errors: 0, dropped: 0, inFlight: 0, maxInFlight: 0 };
  const start = clock.now();
  const elapsed = () => clock.now() - start;
  let lastResponseAt = start;
  let allDone: (() => void) | undefined;

  function finish(error: { kind: string; message?: string } | undefined): void {
    if (error === undefined) c.ok++;
    else {
      c.errors++;
      errorKinds[error.kind] = (errorKinds[error.kind] ?? 0) + 1;
      if (error.message) errorSamples[error.kind] ??= error.message;
    }
    lastResponseAt = clock.now();
    c.inFlight--;
    if (c.inFlight === 0) allDone?.();
  }

  async function exchange(i: number): Promise<{ kind: string; message?: string } | undefined> {
    const sentAt = clock.now();
    const res = await pool.request({
      path,
      method: 'POST',
      headers,
      body: requestBody(o, i),
      signal: AbortSignal.timeout(timeoutMs),
    });
    statuses[res.statusCode] = (statuses[res.statusCode] ?? 0) + 1;
    if (res.statusCode < 200 || res.statusCode >= 300) {
      const text = await res.body.text();
      return { kind: `HTTP ${res.statusCode}`, message: errorMessage(text) };
    }
    const s: StreamState = {
      tokens: 0,
      promptTokens: undefined,
      outputTokens: undefined,
      ended: false,
      error: false,
    };
    let firstAt = 0;
    let lastAt = sentAt;
    let rest = '';
    try {
      for await (const chunk of res.body) {
        const lines = (rest + (chunk as Buffer).toString('utf8')).split('\n');
        rest = lines.pop()!;
        let carried = false;
        for (const line of lines) {
          if (line.startsWith('data:') && readEvent(o.api, line.slice(5).trim(), s)) carried = true;
        }
        if (!carried) continue;
        const now = clock.now();
        if (s.tokens === 0) {
          firstAt = now;
          recordMs(h.ttft, now - sentAt);
        } else recordMs(h.itl, now - lastAt);
        lastAt = now;
        s.tokens++;
      }
    } catch (err) {
      // the connection closed (or timed out) mid-stream, after a 2xx head
      const name = (err as Error).name;
      return { kind: name === 'TimeoutError' || name === 'AbortError' ? 'timeout' : 'stream cut' };
    }
    if (rest.startsWith('data:')) readEvent(o.api, rest.slice(5).trim(), s);
    const end = clock.now();
    if (s.error) return { kind: 'stream error event', message: s.message };
    if (!s.ended) return { kind: 'stream cut' };
    recordMs(h.e2e, end - sentAt);
    if (s.outputTokens === undefined || s.promptTokens === undefined) tokens.withoutUsage++;
    else {
      tokens.prompt += s.promptTokens;
      tokens.output += s.outputTokens;
      if (s.outputTokens > 1 && firstAt > 0) recordMs(h.tpot, (end - firstAt) / (s.outputTokens - 1));
    }
    return undefined;
  }

  function send(i: number): void {
    c.sent++;
    c.inFlight++;
    c.maxInFlight = Math.max(c.maxInFlight, c.inFlight);
    tokens.promptSent += o.requests.context[i]!;
    tokens.maxOutput += Math.max(1, o.requests.generated[i]!);
    exchange(i).then(finish, (err: NodeJS.ErrnoException) =>
      finish({
        kind:
          err?.name === 'TimeoutError' || err?.name === 'AbortError'
            ? 'timeout'
            : (err?.code ?? err?.name ?? 'error'),
        message: err?.message,
      }),
    );
  }

  const progressTimer = o.onProgress
    ? setInterval(
        () =>
          o.onProgress!({
            elapsedMs: elapsed(),
            durationMs: o.durationMs,
            sent: c.sent,
            ok: c.ok,
            failed: c.errors,
            inFlight: c.inFlight,
            outputTokens: tokens.output,
          }),
        o.progressMs ?? 250,
      )
    : undefined;

  const n = o.requests.atMs.length;
  let next = 0;
  let stoppedBy: LlmLoadSummary['stoppedBy'] = 'end-of-trace';
  await new Promise<void>((resolve) => {
    const tick = () => {
      const t = elapsed();
      while (next < n && o.requests.atMs[next]! <= t && o.requests.atMs[next]! < o.durationMs) {
        if (c.sent >= maxRequests) break;
        if (c.inFlight >= maxInFlight) c.dropped++;
        else send(next);
        next++;
      }
      if (o.signal?.aborted) stoppedBy = 'signal';
      else if (c.sent >= maxRequests && next < n) stoppedBy = 'max-requests';
      else if (next < n && o.requests.atMs[next]! >= o.durationMs) stoppedBy = 'duration';
      else if (next < n) {
        setTimeout(tick, Math.max(0, Math.min(10, o.requests.atMs[next]! - t)));
        return;
      }
      resolve();
    };
    tick();
  });
  if (c.inFlight > 0) await new Promise<void>((resolve) => (allDone = resolve));
  clearInterval(progressTimer);
  await pool.close();
  const elapsedMs = Math.max(1, lastResponseAt - start);
  return {
    url: o.url,
    api: o.api,
    model: o.model,
    elapsedMs,
    sent: c.sent,
    ok: c.ok,
    errors: c.errors,
    dropped: c.dropped,
    statuses,
    errorKinds,
    errorSamples,
    ttftMs: summarise(h.ttft),
    itlMs: summarise(h.itl),
    tpotMs: summarise(h.tpot),
    e2eMs: summarise(h.e2e),
    tokens,
    outputTokensPerS: (tokens.output / elapsedMs) * 1000,
    requestsPerS: ((c.ok + c.errors) / elapsedMs) * 1000,
    maxInFlightSeen: c.maxInFlight,
    stoppedBy,
  };
}
