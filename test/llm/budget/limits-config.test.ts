/**
 * From the config to the limiter and the prices: every token and cost limit of
 * `consumers.<name>.limits` (and `.models.<m>`) becomes a window the limiter checks, and a model's
 * `price` is what costOf charges.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from '../../../src/config/load-config.js';
import { limitsFor } from '../../../src/llm/budget/token-limits.js';
import { pricesFromConfig, tokenLimiterFromConfig, usesTokenLimits } from '../../../src/app/llm-budgets.js';
import { MemoryTokenLimiter } from '../../../src/llm/budget/memory-token-limiter.js';

const YAML = `
consumers:
  demo:
    limits:
      tokens_per_minute: 1000
      tokens_per_day: 20000
      tokens_per_month: 300000
      cost_per_day_usd: 2
      cost_per_month_usd: 30
      models:
        big:
          tokens_per_minute: 100
          tokens_per_day: 1000
          tokens_per_month: 9000
          cost_per_day_usd: 0.5
          cost_per_month_usd: 5
  plain: { limits: { rps: 5 } }
services:
  ai:
    provider: { static: { targets: ["http://127.0.0.1:9"] } }
    llm:
      models:
        big:
          backends: [{ instances: {} }]
          price: { input: 3, cached_input: 0.3, cache_write: 3.75, output: 15 }
        small:
          backends: [{ instances: {} }]
`;

test('every token and cost limit of a consumer and of its models becomes a window, named as in the config', () => {
  const config = parseConfig(YAML, '/tmp/luascale.yaml');
  const specs = limitsFor(config.consumers.demo!.limits, 'big').map(
    (s) => `${s.name} ${s.unit}/${s.window} ${s.limit}`,
  );
  assert.deepEqual(specs, [
    'tokens_per_minute tokens/minute 1000',
    'tokens_per_day tokens/day 20000',
    'tokens_per_month tokens/month 300000',
    'cost_per_day_usd usd/day 2',
    'cost_per_month_usd usd/month 30',
    'models.big.tokens_per_minute tokens/minute 100',
    'models.big.tokens_per_day tokens/day 1000',
    'models.big.tokens_per_month tokens/month 9000',
    'models.big.cost_per_day_usd usd/day 0.5',
    'models.big.cost_per_month_usd usd/month 5',
  ]);
  assert.equal(limitsFor(config.consumers.demo!.limits, 'small').length, 5);
  assert.deepEqual(limitsFor(config.consumers.plain!.limits, 'big'), [], 'rps is the request limiter’s');
  assert.ok(usesTokenLimits(config));
  assert.ok(tokenLimiterFromConfig(config) instanceof MemoryTokenLimiter);
  const noTokens = parseConfig(
    YAML.replace(/ {2}demo:\n(?: {4,}.*\n)+/, '  demo: {}\n'),
    '/tmp/luascale.yaml',
  );
  assert.equal(usesTokenLimits(noTokens), false);
  assert.equal(tokenLimiterFromConfig(noTokens), undefined);
});

test("a model's price is what the cost of its usage is computed from; a model without one costs 0", () => {
  const prices = pricesFromConfig(parseConfig(YAML, '/tmp/luascale.yaml'));
  const usage = {
    input: 1_000_000,
    cachedInput: 500_000,
    cacheWrite: 100_000,
    output: 1_000_000,
    reasoning: 0,
  };
  assert.ok(Math.abs(prices.costOf('big', usage) - (0.4 * 3 + 0.5 * 0.3 + 0.1 * 3.75 + 15)) < 1e-9);
  assert.equal(prices.costOf('small', usage), 0);
});

test('the limits refuse what is not a limit, naming the path', () => {
  assert.throws(
    () => parseConfig(YAML.replace('tokens_per_day: 20000', 'tokens_per_hour: 20000'), '/tmp/luascale.yaml'),
    /consumers\.demo\.limits.*tokens_per_hour/,
  );
  assert.throws(
    () => parseConfig(YAML.replace('tokens_per_minute: 1000', 'tokens_per_minute: 0'), '/tmp/luascale.yaml'),
    /consumers\.demo\.limits\.tokens_per_minute/,
  );
});
