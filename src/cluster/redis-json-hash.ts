/** JSON records by id in one Redis hash: the cluster's instance records and API keys. */
import type { Redis } from 'ioredis';

/** One hash of JSON values by id. */
export interface JsonHash<T> {
  put(id: string, value: T): Promise<void>;
  get(id: string): Promise<T | undefined>;
  /** Every record, in no particular order. */
  all(): Promise<T[]>;
}

/** The hash `key` of `redis`, its values JSON of T. */
export function jsonHash<T>(redis: Redis, key: string): JsonHash<T> {
  return {
    async put(id, value) {
      await redis.hset(key, id, JSON.stringify(value));
    },
    async get(id) {
      const v = await redis.hget(key, id);
      return v === null ? undefined : (JSON.parse(v) as T);
    },
    async all() {
      return (await redis.hvals(key)).map((v) => JSON.parse(v) as T);
    },
  };
}
