/**
 * X-Request-Id generation without a random draw per request: a random per-process prefix plus a
 * counter is unique per gateway process (and across workers, whose prefixes differ).
 */
import { randomBytes } from 'node:crypto';

/** Returns a generator of ids such as `3f9c2a7b1d5e-1a`. */
export function createRequestIds(): () => string {
  const prefix = randomBytes(6).toString('hex') + '-';
  let n = 0;
  return () => prefix + (n++).toString(36);
}
