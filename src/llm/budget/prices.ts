/**
 * Cost of a request from its normalised usage and the model's price (USD per million tokens).
 * `input` counts every prompt token; cached reads and cache writes are priced apart (OpenAI's
 * cached-input discount, Anthropic's cache read and write rates), so
 *   cost = ((input − cachedInput − cacheWrite) · p.input + cachedInput · p.cached_input
 *           + cacheWrite · p.cache_write + output · p.output) / 1e6
 * Reasoning tokens are already part of `output` (OpenAI's `completion_tokens` and Anthropic's
 * `output_tokens` include them) and are not charged twice.
 */

/** The token counts a cost is computed from: the shape of src/llm/formats' `Usage`. */
export interface UsageCounts {
  input: number;
  cachedInput: number;
  cacheWrite: number;
  output: number;
  reasoning: number;
}

/** A model's price (the config's `price`, src/config/price-schema.ts), USD per million tokens. */
export interface PriceLike {
  input: number;
  cached_input?: number;
  cache_write?: number;
  output: number;
}

/** USD of `usage` at `price`; 0 when the model has no price. */
export function costOf(price: PriceLike | undefined, usage: Partial<UsageCounts>): number {
  if (price === undefined) return 0;
  const input = usage.input ?? 0;
  const cached = Math.min(input, usage.cachedInput ?? 0);
  const written = Math.min(input - cached, usage.cacheWrite ?? 0);
  const plain = input - cached - written;
  const usd =
    plain * price.input +
    cached * (price.cached_input ?? price.input) +
    written * (price.cache_write ?? price.input) +
    (usage.output ?? 0) * price.output;
  return usd / 1e6;
}

/** Prices by model name. */
export interface PriceTable {
  /** The model's price, or undefined when it has none. */
  priceOf(model: string): PriceLike | undefined;
  /** USD of `usage` for `model` (0 for a model without a price). */
  costOf(model: string, usage: Partial<UsageCounts>): number;
  /**
   * The most a request can cost before it runs: its prompt at the uncached input price and
   * `maxOutput` tokens at the output price (what reserve charges against cost budgets).
   */
  maxCostOf(model: string, promptTokens: number, maxOutput: number): number;
}

/** A PriceTable over `prices` (model → price). */
export function priceTable(prices: Readonly<Record<string, PriceLike | undefined>>): PriceTable {
  const priceOf = (model: string) => (Object.hasOwn(prices, model) ? prices[model] : undefined);
  return {
    priceOf,
    costOf: (model, usage) => costOf(priceOf(model), usage),
    maxCostOf: (model, promptTokens, maxOutput) =>
      costOf(priceOf(model), { input: promptTokens, output: maxOutput }),
  };
}
