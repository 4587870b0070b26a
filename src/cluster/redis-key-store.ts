/**
 * API keys in Redis for cluster mode: one hash `<prefix>keys` (id → JSON of the stored key, never
 * the key itself), so every gateway node checks the same keys and a revocation reaches all of them
 * at once. A check costs one HGET per request on an `auth: key` route.
 */
import type { Redis } from 'ioredis';
import type { KeyStore, StoredKey } from '../store/key-store.js';
import { jsonHash } from './redis-json-hash.js';

/** The key prefix of the cluster's store in Redis (createRedisStore's default). */
export const STORE_PREFIX = 'luascale:store:';

/** The KeyStore of `store: { redis }`. */
export function redisKeyStore(redis: Redis, prefix: string): KeyStore {
  const key = `${prefix}keys`;
  const hash = jsonHash<StoredKey>(redis, key);
  return {
    insert: (k) => hash.put(k.id, k),
    get: (id) => hash.get(id),
    async list() {
      const all = await hash.all();
      return all.sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : 1));
    },
    async revoke(id, at) {
      // Read-modify-write in one Lua script: two nodes revoking at once keep the first time.
      const done = await redis.eval(
        `local v = redis.call('HGET', KEYS[1], ARGV[1])
         if not v then return 0 end
         local k = cjson.decode(v)
         if k.revokedAt == cjson.null or k.revokedAt == nil then
           k.revokedAt = tonumber(ARGV[2])
           redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(k))
         end
         return 1`,
        1,
        key,
        id,
        String(at),
      );
      return done === 1;
    },
  };
}
