/**
 * A Lua script run by SHA: `SCRIPT LOAD` once, then `EVALSHA` per call; a `NOSCRIPT` reply
 * (Redis restarted, `SCRIPT FLUSH`, a failover to a replica that never saw it) loads it again and
 * retries once. Scripts run atomically on the server, which is what makes the limiter, the lease
 * and the fencing check race-free (APISIX's non-atomic limiter let ~3.6× through, its #12592).
 */
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';

/** A loaded-on-demand Lua script. */
export interface RedisScript {
  readonly sha: string;
  /** Runs the script with `keys` and `args`; loads it first when the server does not know it. */
  run(redis: Redis, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown>;
}

/** Wraps Lua `source` for EVALSHA with a NOSCRIPT fallback. */
export function redisScript(source: string): RedisScript {
  const sha = createHash('sha1').update(source).digest('hex');
  return {
    sha,
    async run(redis, keys, args) {
      try {
        return await redis.evalsha(sha, keys.length, ...keys, ...args);
      } catch (err) {
        if (!String((err as Error)?.message).startsWith('NOSCRIPT')) throw err;
        await redis.script('LOAD', source);
        return redis.evalsha(sha, keys.length, ...keys, ...args);
      }
    },
  };
}
