/**
 * Cluster rate limiting against a real redis-server: cost per decision and round trips of the
 * leased RedisRateLimiter, side by side with the local TokenBucket (no sharing) and the same
 * limiter with one-token leases (a round trip per request, as a plain Redis limiter does), and
 * the accuracy of 3 limiters sharing one limit. Time is synthetic (1 decision per ms per limiter).
 */
import { Redis } from 'ioredis';
import { TokenBucket } from '../src/gateway/admission/token-bucket.js';
import type { RateLimiter } from '../src/gateway/admission/rate-limiter.js';
import { RedisRateLimiter } from '../src/cluster/redis-rate-limiter.js';
import { startRedis } from '../test/cluster/redis-server.js';
import type { Emit } from './run.js';

const N = 20_000;
const RPS = 1000;

async function drive(limiters: RateLimiter[], n: number): Promise<{ ms: number; ok: number }> {
  let ok = 0;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const now = 1_000_000 + i; // each limiter offered 1000/s: 3× the shared limit with 3
    for (const l of limiters) {
      const v = l.take('k', now);
      if ((v instanceof Promise ? await v : v).ok) ok++;
    }
  }
  return { ms: performance.now() - t0, ok };
}

export default async function (emit: Emit): Promise<void> {
  const server = await startRedis();
  const conns = [0, 1, 2].map(() => new Redis(server.url, { lazyConnect: true }));
  await Promise.all(conns.map((c) => c.connect())); // before: a limiter on a connecting client decides locally
  try {
    let p = 0;
    const local = await drive([new TokenBucket({ rps: RPS })], N);
    const leased = new RedisRateLimiter({ redis: conns[0]!, prefix: `b${++p}:`, rps: RPS });
    const l1 = await drive([leased], N);
    const single = new RedisRateLimiter({ redis: conns[0]!, prefix: `b${++p}:`, rps: RPS, maxBatch: 1 });
    const s1 = await drive([single], N);
    emit({
      name: 'cluster.rate_limit.us_per_decision',
      value: (l1.ms * 1000) / N,
      unit: 'µs',
      local_token_bucket_us: (local.ms * 1000) / N,
      one_token_lease_us: (s1.ms * 1000) / N,
      round_trips_per_1000: (leased.stats.remote * 1000) / N,
      one_token_round_trips_per_1000: (single.stats.remote * 1000) / N,
    });
    const prefix = `b${++p}:`;
    const three = conns.map((redis) => new RedisRateLimiter({ redis, prefix, rps: RPS }));
    const a = await drive(three, N);
    const allowed = RPS + (RPS * (N - 1)) / 1000;
    emit({
      name: 'cluster.rate_limit.admitted_over_allowed_3_gateways',
      value: a.ok / allowed,
      unit: 'ratio',
      admitted: a.ok,
      allowed,
      offered: 3 * N,
      local_only_ratio: (3 * (await drive([new TokenBucket({ rps: RPS })], N)).ok) / allowed,
      round_trips_per_1000: (three.reduce((s, l) => s + l.stats.remote, 0) * 1000) / (3 * N),
    });
  } finally {
    for (const c of conns) c.disconnect();
    await server.stop();
  }
}
