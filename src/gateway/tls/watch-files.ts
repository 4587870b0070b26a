/**
 * Polls files for replacement and calls back once they settle: TLS files are swapped as a set (a
 * certificate, then its key; a Kubernetes secret's `..data` symlink), so one read after the last
 * change sees them together. Polled through symlinks (`fs.watchFile`), so an atomic rename or a
 * symlink swap is seen too.
 */
import { unwatchFile, watchFile, type Stats } from 'node:fs';

type FileStat = Pick<Stats, 'mtimeMs' | 'ctimeMs' | 'ino' | 'size'>;

/** Watches `files` every `intervalMs`; `onSettled` runs once per burst of changes. Returns the stop. */
export function watchFiles(files: readonly string[], intervalMs: number, onSettled: () => void): () => void {
  let pending: NodeJS.Timeout | undefined;
  const onChange = (cur: FileStat, prev: FileStat): void => {
    // Not mtime alone: a file replaced by one with the same mtime (Kubernetes swapping the `..data`
    // symlink of a mounted secret to files copied with their times kept: cp -p, tar, rsync -a) is
    // another inode, changed ctime. Only access times are left out (never seen here anyway).
    if (
      cur.mtimeMs === prev.mtimeMs &&
      cur.ctimeMs === prev.ctimeMs &&
      cur.ino === prev.ino &&
      cur.size === prev.size
    )
      return;
    clearTimeout(pending);
    pending = setTimeout(onSettled, Math.min(200, intervalMs));
    pending.unref();
  };
  const unique = [...new Set(files)];
  for (const f of unique) watchFile(f, { interval: intervalMs, persistent: false }, onChange);
  return () => {
    clearTimeout(pending);
    for (const f of unique) unwatchFile(f, onChange);
  };
}
