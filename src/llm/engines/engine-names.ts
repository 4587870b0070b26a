/**
 * Each inference engine's Prometheus names for the canonical quantities luascale reads
 * (../shared/reference/ai-gateways.md §3, and each engine's docs). A list is tried in order and
 * the first name present wins, so a newer and an older name of the same quantity both work:
 * vLLM renamed `gpu_cache_usage_perc` to `kv_cache_usage_perc` (vllm #18354) and
 * `time_per_output_token_seconds` to `inter_token_latency_seconds` (deprecated 0.11, removed by
 * vllm #32661). A quantity with no name here is one the engine does not export: it stays absent
 * (nil in Lua), never 0.
 */

/** The engines whose `/metrics` luascale maps; `none` scrapes nothing. */
export const ENGINES = ['vllm', 'sglang', 'tgi', 'trtllm', 'llamacpp', 'none'] as const;
/** An engine name as written in `llm.engine`. */
export type Engine = (typeof ENGINES)[number];

/** Where each canonical quantity is read from. Histograms name the family (`_bucket` is appended). */
export interface EngineNames {
  /** Requests queued in the engine (gauge). */
  readonly waiting: readonly string[];
  /** Requests in the running batch (gauge). */
  readonly running: readonly string[];
  /** KV-cache use, 0..1 (gauge). */
  readonly kvUtil: readonly string[];
  /** Prompt tokens processed (counter, or a histogram's `_sum`). */
  readonly promptTokens: readonly string[];
  /** Tokens generated (counter, or a histogram's `_sum`). */
  readonly generationTokens: readonly string[];
  /** Prompt tokens looked up in the prefix cache (counter). */
  readonly prefixQueries: readonly string[];
  /** Of those, tokens found (counter). */
  readonly prefixHits: readonly string[];
  /** A hit-rate gauge, 0..1, for engines that export the ratio instead of the two counters. */
  readonly prefixHitRate: readonly string[];
  /** Time to first token, seconds (histogram family). */
  readonly ttft: readonly string[];
  /** Inter-token latency, seconds (histogram family). */
  readonly itl: readonly string[];
}

/** The names per engine. */
export const ENGINE_NAMES: Readonly<Record<Exclude<Engine, 'none'>, EngineNames>> = {
  // vLLM docs/design/metrics.md; the older names second.
  vllm: {
    waiting: ['vllm:num_requests_waiting'],
    running: ['vllm:num_requests_running'],
    kvUtil: ['vllm:kv_cache_usage_perc', 'vllm:gpu_cache_usage_perc'],
    promptTokens: ['vllm:prompt_tokens_total'],
    generationTokens: ['vllm:generation_tokens_total'],
    prefixQueries: ['vllm:prefix_cache_queries_total', 'vllm:gpu_prefix_cache_queries_total'],
    prefixHits: ['vllm:prefix_cache_hits_total', 'vllm:gpu_prefix_cache_hits_total'],
    prefixHitRate: ['vllm:gpu_prefix_cache_hit_rate'],
    ttft: ['vllm:time_to_first_token_seconds'],
    itl: ['vllm:inter_token_latency_seconds', 'vllm:time_per_output_token_seconds'],
  },
  // SGLang docs (references/production_metrics); GIE's model-server protocol table for the gauges.
  sglang: {
    waiting: ['sglang:num_queue_reqs'],
    running: ['sglang:num_running_reqs'],
    kvUtil: ['sglang:token_usage'],
    promptTokens: ['sglang:prompt_tokens_total'],
    generationTokens: ['sglang:generation_tokens_total'],
    prefixQueries: [],
    prefixHits: [],
    prefixHitRate: ['sglang:cache_hit_rate'],
    ttft: ['sglang:time_to_first_token_seconds'],
    itl: ['sglang:inter_token_latency_seconds', 'sglang:time_per_output_token_seconds'],
  },
  // TGI docs/source/reference/metrics.md: no KV gauge, no TTFT histogram; token counts are the
  // per-request histograms' sums; the mean time per token is its ITL.
  tgi: {
    waiting: ['tgi_queue_size'],
    running: ['tgi_batch_current_size'],
    kvUtil: [],
    promptTokens: ['tgi_request_input_length_sum'],
    generationTokens: ['tgi_request_generated_tokens_sum'],
    prefixQueries: [],
    prefixHits: [],
    prefixHitRate: [],
    ttft: [],
    itl: ['tgi_request_mean_time_per_token_duration'],
  },
  // trtllm-serve: GIE's model-server protocol table (gauges); the latency histograms as Dynamo's
  // TensorRT-LLM page lists them.
  trtllm: {
    waiting: ['trtllm_num_requests_waiting'],
    running: ['trtllm_num_requests_running'],
    kvUtil: ['trtllm_kv_cache_utilization'],
    promptTokens: [],
    generationTokens: [],
    prefixQueries: [],
    prefixHits: [],
    prefixHitRate: [],
    ttft: ['trtllm_time_to_first_token_seconds'],
    itl: ['trtllm_inter_token_latency_seconds'],
  },
  // llama.cpp tools/server/README.md (`--metrics`): the deferred requests are its queue; current
  // builds dropped the KV gauge (older ones had kv_cache_usage_ratio); no latency histograms.
  llamacpp: {
    waiting: ['llamacpp:requests_deferred'],
    running: ['llamacpp:requests_processing'],
    kvUtil: ['llamacpp:kv_cache_usage_ratio'],
    promptTokens: ['llamacpp:prompt_tokens_total'],
    generationTokens: ['llamacpp:tokens_predicted_total'],
    prefixQueries: [],
    prefixHits: [],
    prefixHitRate: [],
    ttft: [],
    itl: [],
  },
};
