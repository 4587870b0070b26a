/**
 * Wiring of AI services' budgets, prices, ledger and metrics (issue 19) for the front door's stage
 * options: the TokenLimiter over `consumers.<name>.limits` (in memory, or in cluster mode the
 * shared Redis one), the price table of every model's `price`, and the GenAI metrics on the
 * gateway's registry. The ledger is the store's `usage`.
 */
import type { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import type { Config } from '../config/schema.js';
import type { PriceConfig } from '../config/price-schema.js';
import { MemoryTokenLimiter } from '../llm/budget/memory-token-limiter.js';
import { limitsFor } from '../llm/budget/token-limits.js';
import { priceTable, type PriceTable } from '../llm/budget/prices.js';
import type { TokenLimiter } from '../llm/budget/token-limiter.js';
import { GenAiMetrics } from '../llm/metrics/genai-metrics.js';
import { RedisTokenLimiter } from '../cluster/redis-token-limiter.js';

/** Whether any consumer has a token or cost limit (else the front door needs no limiter). */
export function usesTokenLimits(config: Config): boolean {
  return Object.values(config.consumers).some((c) => {
    const l = c.limits;
    if (l === undefined) return false;
    if (limitsFor(l, '').length > 0) return true;
    return Object.keys(l.models ?? {}).some((m) => limitsFor(l, m).length > 0);
  });
}

/** Where cluster mode keeps the limits: the node's connection, key prefix and gateway count. */
export interface SharedBudgets {
  redis: Redis;
  prefix: string;
  gateways: () => number;
}

/** The consumers' TokenLimiter, or undefined when no consumer has token or cost limits. */
export function tokenLimiterFromConfig(config: Config, shared?: SharedBudgets): TokenLimiter | undefined {
  if (!usesTokenLimits(config)) return undefined;
  const consumers = config.consumers;
  return shared === undefined
    ? new MemoryTokenLimiter({ consumers })
    : new RedisTokenLimiter({ ...shared, consumers });
}

/** Prices of every AI service's models by model name (`llm.models.<name>.price`; the first one wins). */
export function pricesFromConfig(config: Config): PriceTable {
  const prices: Record<string, PriceConfig> = {};
  for (const svc of Object.values(config.services)) {
    const models = (svc as { llm?: { models?: Record<string, { price?: PriceConfig }> } }).llm?.models ?? {};
    for (const [name, m] of Object.entries(models))
      if (m.price !== undefined && !Object.hasOwn(prices, name)) prices[name] = m.price;
  }
  return priceTable(prices);
}

/** The GenAI histograms on the gateway's registry (`createPrometheus(...).registry`). */
export function genAiMetrics(registry: Registry): GenAiMetrics {
  return new GenAiMetrics({ registry });
}

/**
 * A gateway worker's GenAI histograms (`gateway.workers` > 1), on a registry of their own: the
 * worker sends it with its gateway registry when the primary scrapes (cluster-worker.ts), and the
 * primary adds the workers' histograms up on /metrics.
 */
export function workerGenAiMetrics(): { registry: Registry; metrics: GenAiMetrics } {
  const registry = new Registry();
  return { registry, metrics: new GenAiMetrics({ registry }) };
}
