/**
 * API keys: `lsk_<id>_<secret>`, where `id` (16 hex digits) is public (listed, used to revoke) and
 * `secret` is 32 random bytes (base64url). Only the SHA-256 of the whole key is stored: a key has
 * 256 bits of entropy, so a fast hash is enough (no password-stretching needed), and a stolen
 * table yields no usable key. A presented key is looked up by its id and its hash compared in
 * constant time (crypto.timingSafeEqual), so timing tells nothing about a stored hash.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { KeyIdentity, KeyVerifier } from '../gateway/gateway.js';
import type { RateLimiter } from '../gateway/admission/rate-limiter.js';
import type { KeyStore, StoredKey } from '../store/key-store.js';

const KEY_RE = /^lsk_([0-9a-f]{16})_[A-Za-z0-9_-]{43}$/;

/** A new key: shown once to its owner; only `stored` is kept. */
export interface NewKey {
  key: string;
  stored: StoredKey;
}

/** Makes a key for `consumer` at `now` (epoch ms). */
export function generateKey(consumer: string, now: number): NewKey {
  const id = randomBytes(8).toString('hex');
  const key = `lsk_${id}_${randomBytes(32).toString('base64url')}`;
  return { key, stored: { id, consumer, hash: hashKey(key), createdAt: now, revokedAt: null } };
}

const sha256 = (key: string): Buffer => createHash('sha256').update(key).digest();

/** Hex SHA-256 of a key. */
export function hashKey(key: string): string {
  return sha256(key).toString('hex');
}

/** The public id inside a well-formed key, or undefined. */
export function keyIdOf(key: string): string | undefined {
  const m = KEY_RE.exec(key);
  return m === null ? undefined : m[1];
}

/** Whether `key` is the stored key `row` and still valid (not revoked); constant time in the hash. */
export function matches(row: StoredKey | undefined, key: string): boolean {
  if (row === undefined || row.revokedAt !== null) return false;
  const stored = Buffer.from(row.hash, 'hex');
  const given = sha256(key);
  return stored.length === given.length && timingSafeEqual(stored, given);
}

/** What the verifier checks keys against. */
export interface KeyVerifierOptions {
  keys: KeyStore;
  /** Consumers of the config: a key of a consumer no longer there is refused. */
  consumers: Readonly<Record<string, unknown>>;
  /** Each consumer's own rate limiter (`consumers.<name>.limits`), when it has one. */
  limiters?: ReadonlyMap<string, RateLimiter>;
}

/** The gateway's KeyVerifier over a KeyStore (sync with SQLite, a promise with Redis). */
export function createKeyVerifier(options: KeyVerifierOptions): KeyVerifier {
  const { keys, consumers, limiters } = options;
  const identify = (row: StoredKey | undefined, key: string): KeyIdentity | undefined =>
    matches(row, key) && Object.hasOwn(consumers, row!.consumer)
      ? { consumer: row!.consumer, keyId: row!.id }
      : undefined;
  return {
    verify(key) {
      const id = keyIdOf(key);
      if (id === undefined) return undefined;
      const row = keys.get(id);
      return row instanceof Promise ? row.then((r) => identify(r, key)) : identify(row, key);
    },
    ...(limiters !== undefined && limiters.size > 0 ? { limiterOf: (c: string) => limiters.get(c) } : {}),
  };
}
