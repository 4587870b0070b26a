/**
 * The 400 of a request whose reservation alone is larger than a whole limit of its consumer
 * (tokens_per_minute 1,000 and max_tokens 5,000): waiting cannot help, so the answer names the
 * limit and the largest `max_tokens` that would fit (or says the prompt alone is too large).
 */
import { ERRORS, formatMessage } from '../../core/errors.js';
import type { ReserveDenied } from './token-limiter.js';

/** What the front door knows of the refused request. */
export interface OversizedRequest {
  consumer: string;
  /** The client's body: which field set the output cap (`max_output_tokens`, `max_completion_tokens` or `max_tokens`). */
  body: Record<string, unknown>;
  promptTokens: number;
  /** The output tokens reserved (the body's cap or the model's default). */
  maxTokens: number;
  /** USD of `prompt` input and `output` output tokens at the model's price (cost limits). */
  costOf: (prompt: number, output: number) => number;
}

/** The limit's excess, as the limiter reports it. */
export type Exceeds = NonNullable<ReserveDenied['exceeds']>;

/** The largest max_tokens that fits the limit (0: none; the prompt alone is over it). */
export function largestMaxTokens(exceeds: Exceeds, r: OversizedRequest): number {
  if (exceeds.unit === 'tokens') return Math.max(0, Math.floor(exceeds.limit - r.promptTokens));
  const perToken = r.costOf(0, 1);
  if (perToken <= 0) return 0;
  // a hair of slack so that 0.3 / 0.1 counts as 3, not 2.9999…
  return Math.max(0, Math.floor((exceeds.limit - r.costOf(r.promptTokens, 0)) / perToken + 1e-9));
}

const usd = (v: number) => `$${Number(v.toPrecision(6))}`;

/** The front door's 400 for a denial with `exceeds` (LS_ERR_LLM_OVER_WHOLE_LIMIT, `param` the cap's field). */
export function oversizedFailure(
  limit: string,
  exceeds: Exceeds,
  r: OversizedRequest,
): { status: 400; message: string; code: 'LS_ERR_LLM_OVER_WHOLE_LIMIT'; param: string; fit: number } {
  const param =
    r.body.max_output_tokens !== undefined
      ? 'max_output_tokens' // a Responses API client's own name
      : r.body.max_completion_tokens !== undefined
        ? 'max_completion_tokens'
        : 'max_tokens';
  const fit = largestMaxTokens(exceeds, r);
  const tokens = exceeds.unit === 'tokens';
  const message = formatMessage(ERRORS.LS_ERR_LLM_OVER_WHOLE_LIMIT.message, {
    param,
    amount: tokens ? `${exceeds.amount} tokens` : usd(exceeds.amount),
    prompt: r.promptTokens,
    maxTokens: r.maxTokens,
    limit,
    consumer: r.consumer,
    limitValue: tokens ? `${exceeds.limit} tokens` : usd(exceeds.limit),
    fit: fit > 0 ? `the largest ${param} that fits is ${fit}` : 'the prompt alone is over it',
  });
  return { status: 400, message, code: 'LS_ERR_LLM_OVER_WHOLE_LIMIT', param, fit };
}
