/**
 * llm-sim's `/metrics`, on its own prom-client registry, in one of three vocabularies:
 *
 * - `vllm`: vLLM's current names (docs/design/metrics.md): `vllm:num_requests_running`,
 *   `vllm:num_requests_waiting`, `vllm:kv_cache_usage_perc`, `vllm:prompt_tokens_total`,
 *   `vllm:generation_tokens_total`, `vllm:time_to_first_token_seconds`,
 *   `vllm:inter_token_latency_seconds`, `vllm:e2e_request_latency_seconds`,
 *   `vllm:request_queue_time_seconds`, `vllm:request_prompt_tokens`,
 *   `vllm:request_generation_tokens`, `vllm:request_success_total{finished_reason}`,
 *   `vllm:prefix_cache_queries_total`, `vllm:prefix_cache_hits_total`, `vllm:cache_config_info`.
 * - `legacy`: the names before vLLM's rename (vllm #18354, #32661): `vllm:gpu_cache_usage_perc`,
 *   `vllm:time_per_output_token_seconds`, `vllm:gpu_prefix_cache_queries_total` / `_hits_total`.
 * - `llamacpp`: llama.cpp server's `--metrics` names (tools/server/README.md), no labels, no histograms.
 *
 * Latencies are real seconds (after `--time-scale`), what a client of this server measures.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { KvSnapshot } from './kv-cache.js';

/** Which metric vocabulary to expose. */
export type MetricNames = 'vllm' | 'legacy' | 'llamacpp';

/** The engine state the gauges read at scrape time. */
export interface EngineState {
  running: number;
  waiting: number;
  kv: KvSnapshot;
}

/** How a request ended, for vLLM's `finished_reason`. */
export type FinishedReason = 'stop' | 'length' | 'abort';

/** A request's first token: its prompt, and the seconds to it (ttft = queue + prefill). */
export interface FirstToken {
  promptTokens: number;
  ttftS: number;
  queueS: number;
  prefillS: number;
}

/** What the server reports into the metrics. */
export interface SimMetrics {
  readonly registry: Registry;
  /** The prefill is done and the first token is out. */
  firstToken(model: string, t: FirstToken): void;
  /** One more output token, `gapS` after the previous one (undefined for the first). */
  token(model: string, gapS: number | undefined): void;
  /** The request ended (done, cut or aborted). */
  finished(
    model: string,
    r: { reason: FinishedReason; promptTokens: number; outputTokens: number; e2eS: number; decodeS: number },
  ): void;
}

// vLLM's buckets (vllm/v1/metrics/loggers.py), extended below 1 ms for --time-scale runs.
const TTFT_BUCKETS = [
  0.0001, 0.0005, 0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 20,
  40, 80, 160, 640, 2560,
];
const ITL_BUCKETS = [
  0.00001, 0.0001, 0.001, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1, 2.5, 5,
  7.5, 10, 20, 40, 80,
];
const LATENCY_BUCKETS = [
  0.001, 0.01, 0.1, 0.3, 0.5, 0.8, 1, 2.5, 5, 10, 15, 20, 30, 40, 50, 60, 120, 240, 480, 960, 1920, 7680,
];
const TOKEN_BUCKETS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000, 100000];

/** The metrics for one llm-sim. */
export function createSimMetrics(options: {
  names: MetricNames;
  /** The model name of the gauges (vLLM serves one model). */
  model: string;
  state: () => EngineState;
}): SimMetrics {
  return options.names === 'llamacpp' ? llamaCppMetrics(options.state) : vllmMetrics(options);
}

function vllmMetrics(options: { names: MetricNames; model: string; state: () => EngineState }): SimMetrics {
  const legacy = options.names === 'legacy';
  const registry = new Registry();
  const registers = [registry];
  const labelNames = ['model_name'] as const;
  const gauge = (name: string, help: string, read: (s: EngineState) => number) =>
    new Gauge({
      name,
      help,
      labelNames,
      registers,
      collect() {
        this.set({ model_name: options.model }, read(options.state()));
      },
    });
  gauge('vllm:num_requests_running', 'Number of requests in model execution batches.', (s) => s.running);
  gauge('vllm:num_requests_waiting', 'Number of requests waiting to be processed.', (s) => s.waiting);
  gauge(
    legacy ? 'vllm:gpu_cache_usage_perc' : 'vllm:kv_cache_usage_perc',
    'KV-cache usage. 1 means 100 percent usage.',
    (s) => s.kv.usage,
  );
  new Gauge({
    name: 'vllm:cache_config_info',
    help: 'Information of the KV cache config.',
    labelNames: ['block_size', 'num_gpu_blocks'] as const,
    registers,
    collect() {
      const kv = options.state().kv;
      this.set({ block_size: String(kv.blockSize), num_gpu_blocks: String(kv.totalBlocks) }, 1);
    },
  });
  const prefix = legacy ? 'vllm:gpu_prefix_cache' : 'vllm:prefix_cache';
  new Counter({
    name: `${prefix}_queries_total`,
    help: 'Prefix cache queries, in terms of number of queried tokens.',
    labelNames,
    registers,
    collect() {
      this.reset();
      this.inc({ model_name: options.model }, options.state().kv.queries);
    },
  });
  new Counter({
    name: `${prefix}_hits_total`,
    help: 'Prefix cache hits, in terms of number of cached tokens.',
    labelNames,
    registers,
    collect() {
      this.reset();
      this.inc({ model_name: options.model }, options.state().kv.hits);
    },
  });
  const promptTokens = new Counter({
    name: 'vllm:prompt_tokens_total',
    help: 'Number of prefill tokens processed.',
    labelNames,
    registers,
  });
  const generationTokens = new Counter({
    name: 'vllm:generation_tokens_total',
    help: 'Number of generation tokens processed.',
    labelNames,
    registers,
  });
  const histogram = (name: string, help: string, buckets: number[]) =>
    new Histogram({ name, help, labelNames, buckets, registers });
  const ttft = histogram(
    'vllm:time_to_first_token_seconds',
    'Histogram of time to first token in seconds.',
    TTFT_BUCKETS,
  );
  const itl = histogram(
    legacy ? 'vllm:time_per_output_token_seconds' : 'vllm:inter_token_latency_seconds',
    'Histogram of inter-token latency in seconds.',
    ITL_BUCKETS,
  );
  const e2e = histogram(
    'vllm:e2e_request_latency_seconds',
    'Histogram of e2e request latency in seconds.',
    LATENCY_BUCKETS,
  );
  const queue = histogram(
    'vllm:request_queue_time_seconds',
    'Histogram of time spent in WAITING phase for request.',
    LATENCY_BUCKETS,
  );
  const prefill = histogram(
    'vllm:request_prefill_time_seconds',
    'Histogram of time spent in PREFILL phase for request.',
    LATENCY_BUCKETS,
  );
  const decode = histogram(
    'vllm:request_decode_time_seconds',
    'Histogram of time spent in DECODE phase for request.',
    LATENCY_BUCKETS,
  );
  const requestPrompt = histogram(
    'vllm:request_prompt_tokens',
    'Number of prefill tokens processed.',
    TOKEN_BUCKETS,
  );
  const requestGeneration = histogram(
    'vllm:request_generation_tokens',
    'Number of generation tokens processed.',
    TOKEN_BUCKETS,
  );
  const success = new Counter({
    name: 'vllm:request_success_total',
    help: 'Count of successfully processed requests.',
    labelNames: ['model_name', 'finished_reason'] as const,
    registers,
  });
  return {
    registry,
    firstToken(model, { promptTokens: prompt, ttftS, queueS, prefillS }) {
      promptTokens.inc({ model_name: model }, prompt);
      ttft.observe({ model_name: model }, ttftS);
      queue.observe({ model_name: model }, queueS);
      prefill.observe({ model_name: model }, prefillS);
    },
    token(model, gapS) {
      generationTokens.inc({ model_name: model });
      if (gapS !== undefined) itl.observe({ model_name: model }, gapS);
    },
    finished(model, r) {
      e2e.observe({ model_name: model }, r.e2eS);
      decode.observe({ model_name: model }, r.decodeS);
      requestPrompt.observe({ model_name: model }, r.promptTokens);
      requestGeneration.observe({ model_name: model }, r.outputTokens);
      // vLLM counts every finished request here, aborted ones with finished_reason="abort".
      success.inc({ model_name: model, finished_reason: r.reason });
    },
  };
}

function llamaCppMetrics(state: () => EngineState): SimMetrics {
  const registry = new Registry();
  const registers = [registry];
  const counter = (name: string, help: string) => new Counter({ name, help, registers });
  const gauge = (name: string, help: string, read: () => number) =>
    new Gauge({
      name,
      help,
      registers,
      collect() {
        this.set(read());
      },
    });
  const promptTokens = counter('llamacpp:prompt_tokens_total', 'Number of prompt tokens processed.');
  const promptSeconds = counter('llamacpp:prompt_seconds_total', 'Prompt process time');
  const predicted = counter('llamacpp:tokens_predicted_total', 'Number of generation tokens processed.');
  const predictedSeconds = counter('llamacpp:tokens_predicted_seconds_total', 'Predict process time');
  const decodes = counter('llamacpp:n_decode_total', 'Total number of llama_decode() calls');
  let promptT = 0;
  let promptS = 0;
  let predT = 0;
  let predS = 0;
  gauge('llamacpp:prompt_tokens_seconds', 'Average prompt throughput in tokens/s.', () =>
    promptS > 0 ? promptT / promptS : 0,
  );
  gauge('llamacpp:predicted_tokens_seconds', 'Average generation throughput in tokens/s.', () =>
    predS > 0 ? predT / predS : 0,
  );
  gauge('llamacpp:requests_processing', 'Number of requests processing.', () => state().running);
  gauge('llamacpp:requests_deferred', 'Number of requests deferred.', () => state().waiting);
  gauge(
    'llamacpp:n_busy_slots_per_decode',
    'Average number of busy slots per llama_decode() call',
    () => state().running,
  );
  // Older llama.cpp builds (still read by third-party dashboards); current ones dropped them.
  gauge(
    'llamacpp:kv_cache_usage_ratio',
    'KV-cache usage. 1 means 100 percent usage.',
    () => state().kv.usage,
  );
  gauge('llamacpp:kv_cache_tokens', 'KV-cache tokens.', () => state().kv.usedBlocks * state().kv.blockSize);
  return {
    registry,
    firstToken(_model, { promptTokens: prompt, prefillS }) {
      promptTokens.inc(prompt);
      promptSeconds.inc(prefillS);
      promptT += prompt;
      promptS += prefillS;
      decodes.inc();
    },
    token(_model, gapS) {
      predicted.inc();
      predT++;
      decodes.inc();
      if (gapS !== undefined) {
        predictedSeconds.inc(gapS);
        predS += gapS;
      }
    },
    finished() {},
  };
}
