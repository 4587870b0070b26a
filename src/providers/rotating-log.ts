/**
 * Per-instance log files with size-based rotation. The child writes straight into the file (its
 * stdout/stderr are the file, opened O_APPEND), not through a pipe to luascale, so an instance
 * keeps logging and never gets SIGPIPE when luascale itself dies and is restarted. Rotation is
 * logrotate's `copytruncate`: copy `x.log` to `x.log.1` (shifting older files up), then truncate
 * `x.log`; O_APPEND writes continue at the new end. Lines written between copy and truncate are lost,
 * which is the known cost of copytruncate.
 */
import {
  closeSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  openSync,
  renameSync,
  statSync,
  truncateSync,
  unlinkSync,
} from 'node:fs';
import { dirname } from 'node:path';

/** Opens (creating) a log file for appending and returns its fd; the caller closes it after spawn. */
export function openLogFd(path: string): number {
  mkdirSync(dirname(path), { recursive: true });
  return openSync(path, 'a');
}

/**
 * Rotates `path` when it is larger than `maxBytes`, keeping `files` old copies (`.1` newest).
 * Returns true when it rotated. `files` = 0 just truncates.
 */
export function rotateLogIfNeeded(path: string, maxBytes: number, files: number): boolean {
  let size: number;
  try {
    size = statSync(path).size;
  } catch {
    return false;
  }
  if (size <= maxBytes) return false;
  if (files > 0) {
    const oldest = `${path}.${files}`;
    if (existsSync(oldest)) unlinkSync(oldest);
    for (let i = files - 1; i >= 1; i--) {
      const from = `${path}.${i}`;
      if (existsSync(from)) renameSync(from, `${path}.${i + 1}`);
    }
    copyFileSync(path, `${path}.1`);
  }
  truncateSync(path, 0);
  return true;
}

/** Closes an fd, ignoring EBADF (it may have been closed by a failed spawn). */
export function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // nothing to do
  }
}
