import { randomBytes } from 'node:crypto';

/** A short random id with a readable prefix, e.g. `inst_3f9c2a7b1d`. */
export function newId(prefix: string): string {
  return `${prefix}_${randomBytes(5).toString('hex')}`;
}

/** A request id (RFC 4122-free: 16 random bytes as hex is enough to be unique per gateway). */
export function newRequestId(): string {
  return randomBytes(8).toString('hex');
}
