/**
 * Wiring of consumers and API keys (issue 19): the gateway's KeyVerifier over the store's keys
 * (with each consumer's own rate limiter: a token bucket, or in cluster mode the shared Redis one),
 * and the admin API's key operations.
 */
import { LuascaleError } from '../core/errors.js';
import type { Clock } from '../core/clock.js';
import type { Config } from '../config/schema.js';
import { createKeyVerifier, generateKey } from '../consumers/index.js';
import type { KeyVerifier } from '../gateway/gateway.js';
import { createRateLimiter } from '../gateway/admission/admission.js';
import type { RateLimiter } from '../gateway/admission/rate-limiter.js';
import type { AdminKeys, ConsumerLimitsView, KeyView } from '../admin/key-routes.js';
import type { KeyStore, StoredKey } from '../store/key-store.js';

/** Whether any service or route of the config asks for API keys. */
export function usesKeys(config: Config): boolean {
  return Object.values(config.services).some(
    (s) => s.auth === 'key' || s.routes.some((r) => r.auth === 'key'),
  );
}

/** The gateway's key check; `sharedLimiter` makes consumers' limits cluster-wide (Redis). */
export function keyVerifierFromConfig(
  config: Config,
  options: {
    keys: KeyStore;
    sharedLimiter?: (name: string, rl: { rps: number; burst?: number }) => RateLimiter;
  },
): KeyVerifier {
  const limiters = new Map<string, RateLimiter>();
  for (const [name, c] of Object.entries(config.consumers)) {
    const rps = c.limits?.rps;
    if (rps === undefined) continue; // token limits only: the llm stage's TokenLimiter keeps them
    const rl = { rps, burst: c.limits!.burst };
    limiters.set(name, options.sharedLimiter?.(`consumer:${name}`, rl) ?? createRateLimiter(rl));
  }
  return createKeyVerifier({ keys: options.keys, consumers: config.consumers, limiters });
}

/** The admin API's key operations over the store. */
export function adminKeys(config: Config, options: { keys: KeyStore; clock: Clock }): AdminKeys {
  const { keys, clock } = options;
  const view = (k: StoredKey): KeyView => ({
    id: k.id,
    consumer: k.consumer,
    createdAt: k.createdAt,
    revokedAt: k.revokedAt,
  });
  return {
    async consumers() {
      const active = new Map<string, number>();
      for (const k of await keys.list())
        if (k.revokedAt === null) active.set(k.consumer, (active.get(k.consumer) ?? 0) + 1);
      return Object.entries(config.consumers).map(([name, c]) => ({
        name,
        metadata: { ...c.metadata },
        limits: c.limits ? limitsView(c.limits) : null,
        activeKeys: active.get(name) ?? 0,
      }));
    },
    async create(consumer) {
      if (!Object.hasOwn(config.consumers, consumer))
        throw new LuascaleError('LS_ERR_ADMIN_NO_CONSUMER', { name: consumer });
      const made = generateKey(consumer, clock.wallNow());
      await keys.insert(made.stored);
      return { ...view(made.stored), key: made.key };
    },
    async list() {
      return (await keys.list()).map(view);
    },
    async revoke(id) {
      if (!(await keys.revoke(id, clock.wallNow()))) throw new LuascaleError('LS_ERR_ADMIN_NO_KEY', { id });
      return view((await keys.get(id))!);
    },
  };
}

/** A consumer's limits without `x-` extension keys (the admin API's schema has no room for them). */
function limitsView(limits: NonNullable<Config['consumers'][string]['limits']>): ConsumerLimitsView {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(limits)) {
    if (k.startsWith('x-') || v === undefined) continue;
    out[k] =
      k === 'models'
        ? Object.fromEntries(
            Object.entries(v as Record<string, Record<string, unknown>>).map(([m, l]) => [
              m,
              Object.fromEntries(Object.entries(l).filter(([f]) => !f.startsWith('x-'))),
            ]),
          )
        : v;
  }
  return out as ConsumerLimitsView;
}
