/**
 * The price of a model (issue 19), in USD per million tokens: what the usage ledger and cost
 * budgets charge. A model's `price` in a service's `llm.models.<name>` uses this schema; the type
 * is structurally what src/llm/budget/prices.ts reads.
 */
import { Type, type Static } from '@sinclair/typebox';
import { strict } from './schema-primitives.js';

const PerMillion = (what: string, dflt?: string) =>
  Type.Number({
    minimum: 0,
    maximum: 1_000_000,
    description: `USD per million ${what}${dflt ? ` (default: ${dflt})` : ''}`,
  });

/** `price` of a model. */
export const Price = strict(
  {
    input: PerMillion('prompt tokens not read from or written to a cache'),
    cached_input: Type.Optional(PerMillion('prompt tokens read from the provider’s cache', 'input')),
    cache_write: Type.Optional(PerMillion('prompt tokens written to the provider’s cache', 'input')),
    output: PerMillion('output tokens (reasoning tokens included)'),
  },
  'Price of a model in USD per million tokens, for cost budgets and the usage ledger (docs/llm.md)',
);

/** A model's price as configured. */
export type PriceConfig = Static<typeof Price>;
