/**
 * One AI request after validation: its model's backends tried in order, the answer relayed to the
 * client, and at the end one usage record (settling the token reservation).
 *
 * Fallback (docs/llm.md): until the first byte is written to the client, a connect error, a
 * timeout (time to first token), a 408/429/5xx (or 401/403/404: the backend's own configuration),
 * a malformed or error first chunk, or an empty stream moves on to the next backend (the service's
 * own instances get up to two instances first). After the first byte, a failure (a cut stream,
 * a malformed chunk, the inter-token timeout) ends the stream with a well-formed error event in
 * the client's format (and `data: [DONE]` for OpenAI): never a silent truncation.
 *
 * Life of a call: trying (backend i, attempt k) → relaying (head written) → ended
 *   (reported usage | estimated usage on a cut, a failure or a client that left) → recorded.
 */
import type http from 'node:http';
import type { Dispatcher } from 'undici';
import type { Exchange } from '../../gateway/pipeline/exchange.js';
import type { UpstreamInstance } from '../../gateway/upstream-pool.js';
import { isObject, tryParseJson, type JsonObject } from '../formats/checked.js';
import {
  anthropicErrorEvent,
  errorToAnthropic,
  errorToOpenai,
  openaiErrorEvents,
} from '../formats/errors.js';
import { formatSse, formatSseAll } from '../formats/sse.js';
import { emptyUsage, usageFromAnthropic, usageFromOpenai, type Usage } from '../formats/usage.js';
import type { Backend, HostedBackend, LlmModel } from './backends.js';
import type { ApiFormat, Endpoint } from './endpoints.js';
import { backendRequest, includesUsage } from './backend-request.js';
import { llmErrorText } from './error-body.js';
import { BackendResponse } from './backend-response.js';
import { Deadline } from './deadline.js';
import type { FrontDoorContext, LlmCallRecord } from './front-door-context.js';
import { PassthroughRelay, TranslatingRelay, type Relay } from './relay.js';
import { openChunkedSocket, type ChunkedSocket } from './chunked-socket.js';
import { upstreamHeaders } from './upstream-headers.js';
import { translates } from './translation.js';
import { routePrompt } from '../routing/prompt-prefixes.js';
import { promptText } from './prompt-text.js';

/** A validated request, ready to be sent. */
export interface CallSetup {
  ex: Exchange;
  model: LlmModel;
  endpoint: Endpoint;
  /** The client's body, parsed and validated. */
  body: JsonObject;
  /** The body as the client sent it (forwarded as is when nothing changes). */
  raw: Buffer;
  /** The client's own body when the door translated it into `body` (a Responses API request). */
  clientBody?: JsonObject;
  /** The prompt's tokens by the tokenizer (counted on first call). */
  promptTokens: () => number;
  maxOutput: number;
  /** The token reservation to settle (undefined without limits). */
  reservation: import('../budget/token-limiter.js').Reservation | undefined;
  ctx: FrontDoorContext;
  /** Register the prompt's prefix for the llm balancer (`llm.routing.balancer: llm`). */
  prefixRouting?: boolean;
}

type Outcome = 'done' | 'next';
const RETRYABLE = (s: number): boolean =>
  s === 408 || s === 429 || s >= 500 || s === 401 || s === 403 || s === 404;
const MAX_ERROR_BODY = 64 * 1024;

/** Runs the call to its end (the exchange is finished when it resolves). */
export async function runCall(setup: CallSetup): Promise<void> {
  await new LlmCall(setup).run();
}

class LlmCall {
  private readonly ex: Exchange;
  private readonly client: ApiFormat;
  private readonly stream: boolean;
  private lastStatus = 502;
  private lastReason = 'no backend could serve the model';
  private lastParam: string | undefined;
  private retryAfter: string | undefined;
  private backend = '';
  private ttftMs = -1;
  /** When the last chunk reached the client (inter-token gaps for the llm.itl signals). */
  private lastChunkAt = 0;
  private headSent = false;
  /** The client's response was ended with the stream's own end (see endWith). */
  private clientEnded = false;
  private recorded = false;
  /** Resumes the backend once the client drained (bound once per call). */
  private onDrain: (() => void) | undefined;
  /** The backend response a drain resumes. */
  private up: BackendResponse | undefined;
  /**
   * Where a stream's chunks go once the head is out: straight to the client's socket when that is
   * the same bytes (chunked-socket.ts); undefined while they go through `res.write`.
   */
  private direct: ChunkedSocket | undefined;

  constructor(private readonly s: CallSetup) {
    this.ex = s.ex;
    this.client = s.endpoint.format;
    this.stream = s.body.stream === true;
  }

  async run(): Promise<void> {
    const ex = this.ex;
    ex.dispatched = true;
    for (const b of this.s.model.backends) {
      if (ex.clientGone || ex.res.destroyed) {
        this.end({ status: 0, usage: undefined, relay: undefined });
        return;
      }
      const r = b.kind === 'instances' ? await this.viaInstances(b) : await this.attempt(b, undefined);
      if (r === 'done') return;
    }
    const status = [400, 429, 504].includes(this.lastStatus) ? this.lastStatus : 502;
    this.replyError(
      status,
      status === 400 ? this.lastReason : `${this.lastReason} (model ${this.s.model.name})`,
    );
    this.end({ status, usage: emptyUsage(), relay: undefined });
  }

  /** The service's instances: up to two, picked by its balancer, the second avoiding the first. */
  private async viaInstances(b: Backend): Promise<Outcome> {
    const svc = this.ex.route.data.svc;
    let exclude: UpstreamInstance | undefined;
    // The llm balancer keys its per-request state on the request and routes by the prompt's prefix.
    if (this.s.prefixRouting) routePrompt(this.ex.req, promptText(this.s.body));
    for (let k = 0; k < 2; k++) {
      const ctx = svc.pickContext;
      ctx.now = this.ex.g.clock.now();
      ctx.request = this.ex.req;
      const inst = svc.pool.pick(ctx, exclude);
      ctx.request = undefined;
      if (inst === undefined || inst === exclude) break;
      if (this.ex.attempts === 0) this.ex.firstInstance = inst.id;
      svc.pool.begin(inst);
      const start = this.ex.g.clock.now();
      // EPP's token load: the prompt and the most it may generate, while the request is there
      // (the prompt is tokenized only when the stream signals are wired to take it).
      const streams = this.s.ctx.streams;
      const load = streams === undefined ? 0 : this.s.promptTokens() + this.s.maxOutput;
      streams?.inflight(svc.name, inst.id, load);
      const r = await this.attempt(b, inst);
      streams?.inflight(svc.name, inst.id, -load);
      const now = this.ex.g.clock.now();
      svc.pool.end(inst, r === 'next', r === 'next' ? undefined : now - start, now);
      if (r === 'done') return r;
      exclude = inst;
    }
    if (exclude === undefined) this.lastReason = `service ${svc.name} has no ready instance`;
    return 'next';
  }

  /** One request to one backend (see the module comment for what falls back). */
  private async attempt(b: Backend, inst: UpstreamInstance | undefined): Promise<Outcome> {
    const ex = this.ex;
    const req = backendRequest(this.s, b, this.client);
    if (!req.ok) {
      this.lastReason = req.reason;
      if (req.status !== undefined) {
        this.lastStatus = req.status;
        this.lastParam = req.param;
      }
      return 'next';
    }
    ex.attempts++;
    ex.attemptStart = ex.g.clock.now();
    this.backend = inst === undefined ? b.label : `instances:${inst.id}`;
    ex.lastInstance = this.backend;
    const m = this.s.model;
    // Non-streaming answers come whole: allow the generation of max_tokens at the inter-token pace.
    const firstMs = this.stream
      ? m.ttftMs
      : Math.min(3_600_000, m.ttftMs + m.interTokenMs * this.s.maxOutput);
    const up = new BackendResponse();
    const deadline = new Deadline(firstMs, () => up.abort(new Error('timeout')));
    ex.abortFn = (err) => up.abort(err ?? new Error('aborted'));
    let relay: Relay | undefined;
    try {
      up.send(inst === undefined ? (b as HostedBackend).pool : this.instancePool(inst), {
        origin: inst === undefined ? (b as HostedBackend).origin : inst.url,
        path: req.path,
        method: 'POST',
        headers: upstreamHeaders(ex, b, inst),
        body: req.body,
        headersTimeout: 0,
        bodyTimeout: 0,
      });
      await up.head;
      if (up.status >= 400) return await this.backendError(b, up);
      if (!this.stream) return await this.whole(b, up);
      relay = this.relayFor(b, req.strip);
      if (relay === undefined) return this.skip(up, 'cannot translate the stream');
      const r = relay;
      const verdict: { skip?: string; fail?: string } = {};
      try {
        await up.stream((chunk) => this.relayChunk({ chunk, relay: r, up, deadline, verdict }));
      } catch (err) {
        if (verdict.skip === undefined && verdict.fail === undefined) throw err;
      }
      deadline.stop();
      if (verdict.skip !== undefined) return this.skipped(verdict.skip);
      if (verdict.fail !== undefined) return this.failMidStream(relay, verdict.fail);
      // Ended whole: the client's 'close' that followed is no client leaving.
      if (this.clientEnded) return this.end({ status: 200, usage: relay.usage, relay });
      if (ex.clientGone) return this.end({ status: 0, usage: undefined, relay });
      if (!relay.started) {
        this.lastReason = 'the backend closed an empty stream';
        return 'next';
      }
      if (!relay.done) return this.failMidStream(relay, 'the backend closed the stream early');
      ex.res.end();
      return this.end({ status: 200, usage: relay.usage, relay });
    } catch (err) {
      deadline.stop();
      if (this.clientEnded) return this.end({ status: 200, usage: relay?.usage, relay });
      if (ex.clientGone) return this.end({ status: 0, usage: undefined, relay });
      const timedOut = deadline.expired;
      const reason = timedOut
        ? `${this.headSent ? 'no chunk' : 'no first token'} within ${this.headSent ? m.interTokenMs : firstMs} ms`
        : `${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`;
      if (this.headSent) return this.failMidStream(relay, reason);
      this.lastStatus = timedOut ? 504 : 502;
      this.lastReason = `${this.backend}: ${reason}`;
      return 'next';
    } finally {
      deadline.stop();
      ex.abortFn = undefined;
    }
  }

  /**
   * One chunk of a stream, as it comes (the backend's handler calls this): relayed, or held until
   * the first event is accepted (nothing written yet: a failure still falls back). False pauses
   * the backend until the client drains.
   */
  private relayChunk(c: {
    chunk: Buffer;
    relay: Relay;
    up: BackendResponse;
    deadline: Deadline;
    verdict: { skip?: string; fail?: string };
  }): boolean {
    const { relay, up, verdict } = c;
    if (verdict.skip !== undefined || verdict.fail !== undefined) return false;
    if (this.clientEnded) return true;
    const ex = this.ex;
    const out = relay.push(c.chunk);
    if (!this.headSent && (!relay.started || relay.failure !== undefined)) {
      if (relay.failure === undefined) return true;
      verdict.skip = relay.failure;
      up.abort(new Error(relay.failure));
      return false;
    }
    const streams = this.s.ctx.streams;
    if (!this.headSent) {
      c.deadline.pace(this.s.model.interTokenMs);
      this.head(200, 'text/event-stream');
      if (out.length === 0) ex.res.flushHeaders();
      this.lastChunkAt = ex.g.clock.now();
      this.ttftMs = this.lastChunkAt - ex.start;
      streams?.firstToken(ex.route.data.svc.name, this.ttftMs);
    } else {
      c.deadline.touch();
      // One chunk is one token in the engines we know (vLLM, llama.cpp, llm-sim): its gap is the ITL.
      if (streams !== undefined) {
        const now = ex.g.clock.now();
        if (out.length > 0) streams.tokenGap(ex.route.data.svc.name, now - this.lastChunkAt);
        this.lastChunkAt = now;
      }
    }
    if (relay.done && relay.failure === undefined && !ex.clientGone && !ex.res.destroyed)
      return this.endWith(out);
    const ok = out.length === 0 || this.write(out);
    if (relay.failure !== undefined) {
      verdict.fail = relay.failure;
      up.abort(new Error(relay.failure));
      return false;
    }
    if (ok) return true;
    this.up = up;
    const drains = this.direct ? this.direct.socket : this.ex.res;
    drains.once('drain', (this.onDrain ??= () => this.up?.resume()));
    return false;
  }

  /**
   * The stream's own end (`[DONE]`, `message_stop`) is in `out`: the client's response ends with
   * it, in one write. Waiting for the backend's end of body would cost the client a second write
   * (the lean client reports it in a callback of its own, after this chunk's write was flushed).
   * The backend is still read to its end (the deadline still bounds it), but the client's 'close'
   * that follows this end no longer aborts it, and anything after the end is dropped.
   */
  private endWith(out: Buffer | string): boolean {
    const ex = this.ex;
    ex.abortFn = undefined;
    this.clientEnded = true;
    ex.bytesOut += out.length;
    if (out.length === 0) ex.res.end();
    else ex.res.end(out);
    return true;
  }

  private instancePool(inst: UpstreamInstance): { dispatch: Dispatcher['dispatch'] } {
    return this.ex.route.data.svc.pool.forwarder(inst, this.ex.route.data.connectTimeout);
  }

  private relayFor(b: Backend, strip: boolean): Relay | undefined {
    const kind = this.s.endpoint.kind;
    if (!translates(this.client, b.format, kind)) return new PassthroughRelay(b.format, strip);
    const t = this.s.ctx.translation.stream(this.client, {
      model: this.s.model.name,
      includeUsage: includesUsage(this.s.body),
      inputTokens: this.s.promptTokens(),
      created: Math.floor(this.ex.g.clock.wallNow() / 1000),
      kind,
      backend: b.format,
      request: this.s.clientBody,
    });
    return new TranslatingRelay(b.format, t);
  }

  /** A backend's error answer: fall back, or pass the client's own error on in its format. */
  private async backendError(b: Backend, res: BackendResponse): Promise<Outcome> {
    const text = await res.text(MAX_ERROR_BODY);
    const status = res.status;
    if (RETRYABLE(status)) {
      this.lastStatus = status;
      this.lastReason = `${this.backend} answered ${status}`;
      const ra = res.header('retry-after');
      if (ra !== undefined) this.retryAfter = ra;
      return 'next';
    }
    const body = tryParseJson(text) ?? text;
    const reply = this.client === 'openai' ? errorToOpenai(status, body) : errorToAnthropic(status, body);
    const same = b.format === this.client && isObject(tryParseJson(text));
    this.head(status, 'application/json');
    this.ex.res.end(same ? text : JSON.stringify(reply.body));
    return this.end({ status, usage: emptyUsage(), relay: undefined });
  }

  /** A non-streaming answer: read whole, checked, translated when the formats differ. */
  private async whole(b: Backend, res: BackendResponse): Promise<Outcome> {
    const text = await res.text();
    const parsed = tryParseJson(text);
    if (!isObject(parsed) || parsed.error !== undefined || parsed.type === 'error') {
      this.lastReason = `${this.backend}: malformed answer`;
      return 'next';
    }
    const usage = b.format === 'openai' ? usageFromOpenai(parsed.usage) : usageFromAnthropic(parsed.usage);
    let out = text;
    const kind = this.s.endpoint.kind;
    if (translates(this.client, b.format, kind)) {
      const created = Math.floor(this.ex.g.clock.wallNow() / 1000);
      const o = { created, kind, backend: b.format, request: this.s.clientBody };
      out = JSON.stringify(this.s.ctx.translation.response(parsed, this.client, o));
    }
    this.ttftMs = this.ex.g.clock.now() - this.ex.start;
    this.head(200, 'application/json');
    this.ex.bytesOut += Buffer.byteLength(out);
    this.ex.res.end(out);
    return this.end({ status: 200, usage, relay: undefined, text: out, format: this.client });
  }

  /** Drops a response that will not be relayed (the next backend is tried). */
  private skip(res: BackendResponse, reason: string): Outcome {
    res.abort(new Error(reason));
    return this.skipped(reason);
  }

  /** The response was dropped for `reason` (the next backend is tried). */
  private skipped(reason: string): Outcome {
    this.lastReason = `${this.backend}: ${reason}`;
    return 'next';
  }

  /** After the first byte: end the stream well-formed with an error event, usage estimated. */
  private failMidStream(relay: Relay | undefined, reason: string): Outcome {
    const msg = `the model backend failed mid-stream: ${reason}`;
    const tail =
      relay?.failEvents?.(msg) ??
      (this.client === 'openai' ? formatSseAll(openaiErrorEvents(msg)) : formatSse(anthropicErrorEvent(msg)));
    const res = this.ex.res;
    if (!res.destroyed) {
      this.ex.bytesOut += tail.length;
      res.end(tail);
    }
    return this.end({ status: 200, usage: undefined, relay, failed: true });
  }

  private head(status: number, contentType: string): void {
    const ex = this.ex;
    const h: http.OutgoingHttpHeaders = {
      'content-type': contentType,
      'x-request-id': ex.requestId,
      ...(contentType === 'text/event-stream' ? { 'cache-control': 'no-cache' } : {}),
      ...ex.admitHeaders,
    };
    ex.status = status;
    ex.upstreamMs = ex.g.clock.now() - ex.attemptStart;
    ex.responded = true;
    this.headSent = true;
    // A stream's head goes out with its first chunk, written in the same tick (one write).
    ex.res.writeHead(status, h);
  }

  /** Writes to the client; false when it must drain first. */
  private write(out: Buffer | string): boolean {
    const res = this.ex.res;
    this.ex.bytesOut += out.length;
    if (this.direct) return this.direct.write(out);
    // The first write sends the head with it (Node 26: on the next tick, for a small one), so the
    // socket is looked at after each write until it can be written to directly.
    const ok = res.write(out);
    if (this.direct === undefined) this.direct = openChunkedSocket(res);
    return ok;
  }

  /** Answers an error of the front door's own in the client's format. */
  private replyError(status: number, message: string): void {
    const res = this.ex.res;
    if (res.headersSent || res.destroyed) return;
    const body = llmErrorText(this.client, {
      status,
      message,
      code: status === 429 ? 'rate_limit_exceeded' : undefined,
      param: status === 400 ? this.lastParam : undefined,
    });
    const headers: http.OutgoingHttpHeaders = {
      'content-type': 'application/json',
      'x-request-id': this.ex.requestId,
      ...(status === 429 ? { 'retry-after': this.retryAfter ?? '1' } : {}),
    };
    this.ex.status = status;
    res.writeHead(status, headers);
    res.end(body);
  }

  /** The end: usage (reported, or estimated from what was delivered), the record, the exchange's finish. */
  private end(e: {
    status: number;
    usage: Usage | undefined;
    relay: Relay | undefined;
    failed?: boolean;
    text?: string;
    format?: ApiFormat;
  }): Outcome {
    if (this.recorded) return 'done';
    this.recorded = true;
    // A drain awaited on a keep-alive socket the next response reuses is no longer this call's.
    if (this.onDrain !== undefined) this.direct?.socket.off('drain', this.onDrain);
    const ex = this.ex;
    // Reported: the usage of a backend's whole answer. A cut, a failure, a client that left, or an
    // error answer (no usage from any backend) is estimated.
    const reported = e.usage !== undefined && !e.failed && e.status === 200;
    let usage = e.usage;
    if (!reported || usage === undefined) {
      const partial = e.relay?.usage;
      const output = e.relay?.outputTokens() ?? 0;
      usage = {
        ...emptyUsage(),
        input: partial?.input || (e.status === 0 && !this.headSent ? 0 : this.s.promptTokens()),
        output: e.usage?.output ?? output,
      };
      if (e.status !== 200 && e.status !== 0) usage = emptyUsage();
    }
    const durationMs = ex.g.clock.now() - ex.start;
    const record: LlmCallRecord = {
      requestId: ex.requestId,
      service: ex.route.data.svc.name,
      consumer: ex.consumer,
      keyId: ex.keyId,
      model: this.s.model.name,
      backend: this.backend,
      endpoint: this.s.endpoint.kind,
      stream: this.stream,
      status: e.status === 0 ? 499 : e.status,
      outcome: e.status === 0 ? 'client_closed' : e.failed ? 'cut' : e.status === 200 ? 'completed' : 'error',
      usage,
      usageSource: reported ? 'reported' : 'estimated',
      ttftMs: this.ttftMs,
      durationMs,
      time: ex.g.clock.wallNow() - durationMs,
      reservation: this.s.reservation,
    };
    if (e.status === 0) ex.status = 0;
    this.s.ctx.streams?.tokens(record.service, { input: usage.input, output: usage.output });
    this.s.ctx.onRecord(record);
    ex.finish();
    return 'done';
  }
}
