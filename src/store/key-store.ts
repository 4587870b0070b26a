/**
 * API keys of consumers: only a SHA-256 hash of each key is kept (the key itself is shown once, when
 * it is created), with the consumer it belongs to and when it was revoked. Keys are looked up by
 * their public id, which is part of the key (`lsk_<id>_<secret>`); the hash is then compared in
 * constant time by the caller (src/consumers/api-keys.ts).
 */
import type { Awaitable } from './store.js';

/** One stored API key (never the key itself). */
export interface StoredKey {
  /** Public id, part of the key; shown by `keys list`. */
  id: string;
  consumer: string;
  /** Hex SHA-256 of the whole key. */
  hash: string;
  /** Epoch ms. */
  createdAt: number;
  /** Epoch ms, or null while the key is valid. */
  revokedAt: number | null;
}

/** API keys by id. Writes are durable when they return (a created key must not be lost). */
export interface KeyStore {
  insert(key: StoredKey): Awaitable<void>;
  get(id: string): Awaitable<StoredKey | undefined>;
  /** Every key (revoked ones too), oldest first. */
  list(): Awaitable<StoredKey[]>;
  /** Marks the key revoked at `at`; false when there is no such key. Revoking twice keeps the first time. */
  revoke(id: string, at: number): Awaitable<boolean>;
}
