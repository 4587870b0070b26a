/**
 * Per-instance log files with size-based rotation. The child writes straight into the file (its
 * stdout/stderr are the file, opened O_APPEND), not through a pipe to luascale, so an instance
 * keeps logging and never gets SIGPIPE when luascale itself dies and is restarted. Because the
 * child holds the fd, rename-and-reopen is not possible (the child would keep writing into the
 * renamed file); rotation is logrotate's `copytruncate`, done asynchronously (the copy runs on
 * libuv's thread pool, never on the event loop) and capped: only the last `maxBytes` of `x.log`
 * are copied to `x.log.1` (from a line start, older files shift up), then `x.log` is truncated;
 * O_APPEND writes continue at the new end. So each rotated copy is at most `maxBytes` and the
 * total stays under (files + 1) × maxBytes plus what an instance writes between two checks. The
 * head of an oversized file and lines written between copy and truncate are lost: the known cost.
 */
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { open, rename, rm, stat, truncate } from 'node:fs/promises';
import { dirname } from 'node:path';

/** Opens (creating) a log file for appending and returns its fd; the caller closes it after spawn. */
export function openLogFd(path: string): number {
  mkdirSync(dirname(path), { recursive: true });
  return openSync(path, 'a');
}

/** Copy in chunks of this size: each is one thread-pool job, so the event loop stays free. */
const CHUNK = 1024 * 1024;

/**
 * Rotates `path` when it is larger than `maxBytes`, keeping `files` old copies (`.1` newest), each
 * at most `maxBytes`. Resolves true when it rotated. `files` = 0 just truncates.
 */
export async function rotateLogIfNeeded(path: string, maxBytes: number, files: number): Promise<boolean> {
  let size: number;
  try {
    size = (await stat(path)).size;
  } catch {
    return false;
  }
  if (size <= maxBytes) return false;
  if (files > 0) {
    await rm(`${path}.${files}`, { force: true });
    for (let i = files - 1; i >= 1; i--) {
      await rename(`${path}.${i}`, `${path}.${i + 1}`).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') throw err;
      });
    }
    await copyTail(path, `${path}.1`, size, maxBytes);
  }
  await truncate(path, 0);
  return true;
}

/** Copies the last `maxBytes` of the first `size` bytes of `from` to `to`, starting at a line. */
async function copyTail(from: string, to: string, size: number, maxBytes: number): Promise<void> {
  const src = await open(from, 'r');
  try {
    const dst = await open(to, 'w');
    try {
      const buf = Buffer.allocUnsafe(Math.min(CHUNK, maxBytes));
      let pos = Math.max(0, size - maxBytes);
      let first = pos > 0;
      while (pos < size) {
        const { bytesRead } = await src.read(buf, 0, Math.min(buf.length, size - pos), pos);
        if (bytesRead === 0) break;
        let from = 0;
        if (first) {
          // The cut fell inside a line: start the copy at the next one.
          const nl = buf.subarray(0, bytesRead).indexOf(10);
          from = nl >= 0 ? nl + 1 : 0;
          first = false;
        }
        await dst.write(buf, from, bytesRead - from);
        pos += bytesRead;
      }
    } finally {
      await dst.close();
    }
  } finally {
    await src.close();
  }
}

/** Closes an fd, ignoring EBADF (it may have been closed by a failed spawn). */
export function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // nothing to do
  }
}
