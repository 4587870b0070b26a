/** The workplace's shared data (traces, OpenAPI documents): `../shared` beside the repository. */
import { resolve } from 'node:path';

/** Absolute path of the shared folder (override with LUASCALE_SHARED). */
export const SHARED_DIR = resolve(
  process.env.LUASCALE_SHARED ?? resolve(import.meta.dirname ?? '.', '../../../shared'),
);

/** A file under the shared folder. */
export function shared(...parts: string[]): string {
  return resolve(SHARED_DIR, ...parts);
}
