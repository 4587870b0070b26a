/**
 * Prometheus metrics of AI services with the OpenTelemetry GenAI semantic conventions' names
 * (https://opentelemetry.io/docs/specs/semconv/gen-ai/gen-ai-metrics/), dots as underscores:
 * - `gen_ai_client_token_usage` (histogram, tokens) by `gen_ai_token_type` = input | output,
 * - `gen_ai_server_time_to_first_token` (histogram, seconds),
 * - `gen_ai_server_time_per_output_token` (histogram, seconds): (duration − TTFT) / (output − 1),
 *   the decode time per token after the first, as the convention defines it,
 * each labelled `gen_ai_request_model` and `consumer` (and `gen_ai_operation_name`). Buckets are the
 * conventions' recommended boundaries. One `record(row)` per finished request, from its ledger row.
 */
import { Histogram, type Registry } from 'prom-client';

/** What a record reads: a usage-ledger row fits (src/store/usage-ledger.ts). */
export interface GenAiSample {
  model: string;
  consumer: string;
  input: number;
  output: number;
  ttftMs: number | null;
  durationMs: number;
  /** `chat` (OpenAI chat, Anthropic messages), `text_completion`, `embeddings` (default chat). */
  operation?: string;
}

// OTel GenAI semconv recommended explicit bucket boundaries
const TOKEN_BUCKETS = [
  1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864,
];
const TTFT_BUCKETS = [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];
const TPOT_BUCKETS = [0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1, 2.5];

const LABELS = ['gen_ai_request_model', 'consumer', 'gen_ai_operation_name'] as const;

/** The GenAI histograms on a registry (the gateway's, so they appear on its /metrics). */
export class GenAiMetrics {
  readonly #tokens: Histogram<string>;
  readonly #ttft: Histogram<string>;
  readonly #tpot: Histogram<string>;

  constructor(options: { registry: Registry }) {
    const registers = [options.registry];
    this.#tokens = new Histogram({
      name: 'gen_ai_client_token_usage',
      help: 'Tokens used per request (OpenTelemetry gen_ai.client.token.usage), by gen_ai_token_type input or output',
      labelNames: [...LABELS, 'gen_ai_token_type'],
      buckets: TOKEN_BUCKETS,
      registers,
    });
    this.#ttft = new Histogram({
      name: 'gen_ai_server_time_to_first_token',
      help: 'Seconds to the first output token (OpenTelemetry gen_ai.server.time_to_first_token), as the gateway saw it',
      labelNames: [...LABELS],
      buckets: TTFT_BUCKETS,
      registers,
    });
    this.#tpot = new Histogram({
      name: 'gen_ai_server_time_per_output_token',
      help: 'Seconds per output token after the first (OpenTelemetry gen_ai.server.time_per_output_token)',
      labelNames: [...LABELS],
      buckets: TPOT_BUCKETS,
      registers,
    });
  }

  /** Observes one finished request. */
  record(s: GenAiSample): void {
    const labels = {
      gen_ai_request_model: s.model,
      consumer: s.consumer,
      gen_ai_operation_name: s.operation ?? 'chat',
    };
    this.#tokens.observe({ ...labels, gen_ai_token_type: 'input' }, s.input);
    this.#tokens.observe({ ...labels, gen_ai_token_type: 'output' }, s.output);
    if (s.ttftMs === null) return;
    this.#ttft.observe(labels, s.ttftMs / 1000);
    if (s.output > 1) this.#tpot.observe(labels, (s.durationMs - s.ttftMs) / 1000 / (s.output - 1));
  }
}
