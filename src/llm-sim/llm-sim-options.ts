/** llm-sim's options and their defaults (llm-d-inference-sim's where it has one; see docs/llm-sim.md). */
import type { Fault } from './faults.js';
import type { GenerationMode } from './text-generator.js';
import type { MetricNames } from './metrics.js';
import type { SimClock } from './scheduler.js';

/** Which API the server speaks. */
export type SimApiFlavour = 'openai' | 'anthropic' | 'both';

/** Everything that configures one llm-sim. */
export interface LlmSimOptions {
  host: string;
  /** 0 = a free port. */
  port: number;
  /** Served model names; the first names the metrics. */
  models: string[];
  api: SimApiFlavour;
  seed: number;
  mode: GenerationMode;
  /** The natural completion length range in tokens (random mode). */
  outputTokens: { min: number; max: number };
  /** Running sequences at most (vLLM / llm-d `max-num-seqs`). */
  maxNumSeqs: number;
  /** Waiting requests at most (llm-d `max-waiting-queue-length`); beyond it 429. */
  maxWaiting: number;
  /** Prompt + output tokens at most (vLLM `max-model-len`). */
  maxModelLen: number;
  /** KV cache blocks (llm-d `kv-cache-size`). */
  kvBlocks: number;
  /** Tokens per KV block (llm-d `block-size`). */
  blockSize: number;
  prefillOverheadMs: number;
  prefillPerTokenMs: number;
  /** A constant TTFT instead of the formula; 0 = the formula. */
  ttftMs: number;
  ttftStdDevMs: number;
  itlMs: number;
  itlStdDevMs: number;
  timeFactorUnderLoad: number;
  /** Real ms per model ms: 0.01 runs 100× faster. */
  timeScale: number;
  metricNames: MetricNames;
  /** A fault for every request (or the `faultRate` share of them). */
  fault: Fault | undefined;
  faultRate: number;
  /**
   * Tokens of reasoning before the answer (a reasoning model), 0 = none: the first ones of the
   * completion go out as OpenAI's `reasoning_content` (vLLM's and DeepSeek's field) with
   * `completion_tokens_details.reasoning_tokens`, or as an Anthropic `thinking` block, which only a
   * request with `thinking: {type: "enabled"}` gets (at most its `budget_tokens`). Chat and Messages
   * only; always at least one answer token after them.
   */
  reasoningTokens: number;
  /** The length of `/v1/embeddings` vectors (a request's `dimensions` may ask for fewer). */
  embeddingDims: number;
  /** When set, requests must carry it (Bearer or x-api-key), else 401. */
  apiKey: string | undefined;
  /** Time and timers (tests inject a manual one). */
  clock?: SimClock;
}

/** The defaults: llm-d-inference-sim's limits, and latencies of a 7–8B model on one H100 (its latency profiles). */
export const DEFAULT_LLM_SIM_OPTIONS: LlmSimOptions = {
  host: '127.0.0.1',
  port: 8000,
  models: ['llm-sim'],
  api: 'openai',
  seed: 0,
  mode: 'random',
  outputTokens: { min: 16, max: 128 },
  maxNumSeqs: 5,
  maxWaiting: 1000,
  maxModelLen: 1024,
  kvBlocks: 1024,
  blockSize: 16,
  prefillOverheadMs: 30,
  prefillPerTokenMs: 0.2,
  ttftMs: 0,
  ttftStdDevMs: 0,
  itlMs: 12,
  itlStdDevMs: 0,
  timeFactorUnderLoad: 1,
  timeScale: 1,
  metricNames: 'vllm',
  fault: undefined,
  faultRate: 1,
  reasoningTokens: 0,
  embeddingDims: 384,
  apiKey: undefined,
};
