/** Reading a PEM file for TLS, with a one-line error naming it (a user's file: no stack trace). */
import { readFileSync } from 'node:fs';

/** The file's text; throws a RangeError `<prefix>cannot read <file>: <code>`. */
export function readPem(file: string, prefix = ''): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new RangeError(
      `${prefix}cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    );
  }
}
