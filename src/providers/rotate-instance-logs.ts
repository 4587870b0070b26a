/**
 * Rotation of the instances' log files: every file over its size limit rotates, asynchronously and
 * one at a time per file (rotating-log.ts); a file already rotating is skipped.
 */
import { rotateLogIfNeeded } from './rotating-log.js';

/** Options of {@link rotateInstanceLogs}. */
export interface RotateLogsOptions {
  maxBytes: number;
  /** Rotated files kept. */
  files: number;
  /** Files rotating now; shared between calls. */
  rotating: Set<string>;
  onError(err: unknown, context: string): void;
}

/** Rotates each of `files` that is over `maxBytes`; resolves how many rotated. Never rejects. */
export async function rotateInstanceLogs(
  files: readonly string[],
  options: RotateLogsOptions,
): Promise<number> {
  const { rotating } = options;
  const done = await Promise.all(
    files
      .filter((f) => !rotating.has(f))
      .map(async (file) => {
        rotating.add(file);
        try {
          return await rotateLogIfNeeded(file, options.maxBytes, options.files);
        } catch (err) {
          options.onError(err, `rotate ${file}`);
          return false;
        } finally {
          rotating.delete(file);
        }
      }),
  );
  return done.filter(Boolean).length;
}
