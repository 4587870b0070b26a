/**
 * An AI service's `llm.*` signals (src/signals/catalog.ts) for the controller: the engines' figures
 * from the last scrape (engine-scraper.ts) merged with what the gateway measured from the streams
 * itself. The front door reports each response through the recording API below; its figures stand
 * in where the engine exports nothing (llama.cpp and TGI have no TTFT histogram, hosted providers
 * and Ollama no /metrics at all):
 *
 *   recorder.firstToken(service, ms)            time to first token of one response
 *   recorder.tokenGap(service, ms)              time between two streamed tokens
 *   recorder.tokens(service, { input, output }) tokens of a finished (or cut) response
 *   recorder.inflight(service, instance, ±n)    prompt + max output tokens dispatched / finished
 *
 * An engine's value wins over the stream's when both exist (it sees every client, not only this
 * gateway's). Absent stays absent: a figure neither side measured is left out (nil in Lua).
 */
import { LatencyWindow } from '../../metrics/latency-window.js';
import { SlidingWindow } from '../../metrics/sliding-window.js';
import type { EngineSignals } from '../engines/engine-metrics.js';
import type { LlmInstanceStates } from './llm-instance-states.js';

/** The `llm` group of an Observation (every field optional). */
export interface LlmSignalGroup {
  waiting?: number;
  running?: number;
  kv_util?: number;
  ttft?: { p50?: number; p95?: number };
  itl?: { p50?: number; p95?: number };
  tokens_in_rps?: number;
  tokens_out_rps?: number;
  inflight_tokens?: number;
  prefix_hit_rate?: number;
}

/** What the front door calls as responses stream through it. */
export interface LlmStreamRecorder {
  firstToken(service: string, ms: number): void;
  tokenGap(service: string, ms: number): void;
  tokens(service: string, counts: { input: number; output: number }): void;
  /** Tokens dispatched to (+n) or finished at (−n) an instance: the balancer's token load. */
  inflight(service: string, instance: string, tokens: number): void;
}

interface Streams {
  ttft: LatencyWindow;
  itl: LatencyWindow;
  tokensIn: SlidingWindow;
  tokensOut: SlidingWindow;
  inflight: number;
}

/** The llm.* signals of every AI service: stream measurements kept here, engine figures set per scrape. */
export class LlmServiceSignals {
  readonly windowS: number;
  readonly #clock: () => number;
  readonly #streams = new Map<string, Streams>();
  readonly #engine = new Map<string, { signals: EngineSignals; at: number }>();
  readonly #states: ReadonlyMap<string, LlmInstanceStates>;
  /** Engine figures older than this (ms) are not reported. */
  readonly maxAgeMs: number;
  readonly recorder: LlmStreamRecorder;

  constructor(options: {
    now: () => number;
    /** Window of the stream measurements, seconds (default 30). */
    windowS?: number;
    maxAgeMs?: number;
    /** Per service, the instance states the balancer reads (in-flight tokens go there too). */
    states?: ReadonlyMap<string, LlmInstanceStates>;
  }) {
    this.#clock = options.now;
    this.windowS = options.windowS ?? 30;
    this.maxAgeMs = options.maxAgeMs ?? 3000;
    this.#states = options.states ?? new Map();
    const streams = (service: string) => this.#streamsOf(service);
    const states = this.#states;
    const now = this.#clock;
    this.recorder = {
      firstToken: (service, ms) => streams(service).ttft.record(now(), ms),
      tokenGap: (service, ms) => streams(service).itl.record(now(), ms),
      tokens(service, counts) {
        const s = streams(service);
        s.tokensIn.add(now(), counts.input);
        s.tokensOut.add(now(), counts.output);
      },
      inflight(service, instance, tokens) {
        const s = streams(service);
        s.inflight = Math.max(0, s.inflight + tokens);
        states.get(service)?.addInflightTokens(instance, tokens);
      },
    };
  }

  #streamsOf(service: string): Streams {
    let s = this.#streams.get(service);
    if (s === undefined) {
      const seconds = Math.max(2, this.windowS);
      s = {
        ttft: new LatencyWindow({ seconds }),
        itl: new LatencyWindow({ seconds }),
        tokensIn: new SlidingWindow(seconds),
        tokensOut: new SlidingWindow(seconds),
        inflight: 0,
      };
      this.#streams.set(service, s);
    }
    return s;
  }

  /** The service's engine figures from a scrape at `at` (ScrapeResult.service). */
  setEngine(service: string, signals: EngineSignals, at: number): void {
    this.#engine.set(service, { signals, at });
  }

  /** The `llm` group of `service` at `now`, or undefined when nothing at all is known. */
  group(service: string, now = this.#clock()): LlmSignalGroup | undefined {
    const e = this.#engine.get(service);
    const engine = e !== undefined && now - e.at <= this.maxAgeMs ? e.signals : undefined;
    const s = this.#streams.get(service);
    if (engine === undefined && s === undefined) return undefined;
    const ttft = s !== undefined && s.ttft.totalCount > 0 ? s.ttft.percentiles(now, this.windowS) : undefined;
    const itl = s !== undefined && s.itl.totalCount > 0 ? s.itl.percentiles(now, this.windowS) : undefined;
    const pct = (p: { count: number; p50: number; p95: number } | undefined) =>
      p === undefined || p.count === 0 ? undefined : p;
    const t = pct(ttft);
    const i = pct(itl);
    const out: LlmSignalGroup = {
      waiting: engine?.waiting,
      running: engine?.running,
      kv_util: engine?.kvUtil,
      ttft: { p50: engine?.ttftP50 ?? t?.p50, p95: engine?.ttftP95 ?? t?.p95 },
      itl: { p50: engine?.itlP50 ?? i?.p50, p95: engine?.itlP95 ?? i?.p95 },
      tokens_in_rps: engine?.tokensInRps ?? (s ? s.tokensIn.rate(now, this.windowS) : undefined),
      tokens_out_rps: engine?.tokensOutRps ?? (s ? s.tokensOut.rate(now, this.windowS) : undefined),
      inflight_tokens: s?.inflight,
      prefix_hit_rate: engine?.prefixHitRate,
    };
    return prune(out);
  }
}

function prune<T extends object>(o: T): T {
  for (const k of Object.keys(o) as (keyof T)[]) {
    const v = o[k];
    if (v === undefined) delete o[k];
    else if (typeof v === 'object' && v !== null) {
      prune(v);
      if (Object.keys(v).length === 0) delete o[k];
    }
  }
  return o;
}
