/**
 * Opens the SQLite file the way the store needs it, or throws one LS_ERR_STORE_OPEN that names the
 * file and the reason. Settings, and why:
 * - `locking_mode=EXCLUSIVE`, set before WAL: the first write takes an exclusive lock that is held
 *   until close, so a second luascale on the same file fails at start with "locked" instead of two
 *   controllers writing one store. The OS drops the lock when the process dies (even on kill -9),
 *   so there is no stale lock file to clean up. With exclusive locking, WAL keeps its index in heap
 *   memory and no `-shm` file is used (sqlite.org/wal.html §"Use of WAL Without Shared-Memory").
 *   The price: nothing else (not even the sqlite3 shell) can read the file while luascale runs.
 * - `journal_mode=WAL` + `synchronous=NORMAL`: commits append to the WAL without an fsync; a
 *   process crash loses nothing committed, a power cut can lose the last commits (sqlite.org/pragma.html#pragma_synchronous).
 * - `busy_timeout`: how long to wait for the lock (a previous luascale may still be shutting down).
 * - A write probe (the `meta` row `opened_at`) right after migrating: SQLite silently opens a
 *   read-only file read-only, so only a real write proves the store can record events.
 */
import { accessSync, constants, mkdirSync, statSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { LuascaleError } from '../core/errors.js';
import { migrate, type Migration } from './migrations.js';

/** How to open the file. */
export interface OpenSqliteOptions {
  /** Milliseconds to wait for another connection's lock (default 5000). */
  busyTimeoutMs?: number;
  /** Wall-clock epoch ms, recorded with applied migrations and as `opened_at`. */
  now: number;
  /** For tests of the migration machinery; default: every migration. */
  migrations?: readonly Migration[];
}

/** Opens (creating if needed), locks, migrates and write-probes the store file. */
export function openSqlite(file: string, options: OpenSqliteOptions): Database.Database {
  // ':memory:' is a private in-memory database (tests, the simulator): no file, no WAL, no lock.
  const memory = file === ':memory:';
  const path = memory ? file : resolve(file);
  if (!memory) prepareDirectory(file, path);
  let db: Database.Database | undefined;
  try {
    db = new Database(path, { timeout: options.busyTimeoutMs ?? 5000 });
    db.pragma('locking_mode = EXCLUSIVE');
    const mode = db.pragma('journal_mode = WAL', { simple: true });
    // plain Errors in this block become the reason of the LS_ERR_STORE_OPEN below
    if (mode !== 'wal' && !memory) throw new Error(`cannot switch to WAL journal mode (got ${String(mode)})`);
    db.pragma('synchronous = NORMAL');
    migrate(db, { migrations: options.migrations, now: options.now });
    db.prepare("INSERT OR REPLACE INTO meta (key, value) VALUES ('opened_at', ?)").run(String(options.now));
    return db;
  } catch (err) {
    try {
      db?.close();
    } catch {
      // closing a half-open handle can fail too; the open error is the one to report
    }
    throw new LuascaleError(
      'LS_ERR_STORE_OPEN',
      { file, reason: explainOpenError(err, path) },
      { cause: err },
    );
  }
}

function prepareDirectory(file: string, path: string): void {
  const dir = dirname(path);
  try {
    mkdirSync(dir, { recursive: true });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const why =
      e.code === 'ENOTDIR' || e.code === 'EEXIST'
        ? 'a parent of it is not a directory'
        : `${e.code ?? ''} ${e.message}`.trim();
    throw new LuascaleError(
      'LS_ERR_STORE_OPEN',
      { file, reason: `cannot create directory ${dir}: ${why}` },
      { cause: err },
    );
  }
  try {
    const st = statSync(path);
    if (!st.isFile()) throw new LuascaleError('LS_ERR_STORE_OPEN', { file, reason: 'not a regular file' });
  } catch (err) {
    if (err instanceof LuascaleError) throw err;
    // ENOENT: a new store; SQLite creates it
  }
}

/** One clause a person can act on: the errno found by probing the file system, else SQLite's code. */
export function explainOpenError(err: unknown, path: string): string {
  const code = (err as { code?: unknown }).code;
  const sqliteCode = typeof code === 'string' ? code : '';
  const message = err instanceof Error ? err.message : String(err);
  const dir = dirname(path);
  // access(2) honours read-only mounts (EROFS) and immutable files (EPERM) even for root.
  const fileProblem = accessProblem(path, constants.R_OK | constants.W_OK);
  if (fileProblem && fileProblem !== 'ENOENT')
    return `the file is not writable (${fileProblem}${fileProblem === 'EPERM' ? ', immutable?' : ''}; ${sqliteCode || message})`;
  const dirProblem = accessProblem(dir, constants.W_OK | constants.X_OK);
  if (dirProblem) {
    return `directory ${dir} is not writable (${dirProblem}); SQLite must create ${basename(path)}-wal beside the file (${sqliteCode || message})`;
  }
  if (
    sqliteCode === 'SQLITE_BUSY' ||
    sqliteCode === 'SQLITE_LOCKED' ||
    sqliteCode.startsWith('SQLITE_BUSY_')
  ) {
    return `the database is locked: another process (another luascale?) has it open; each store file belongs to one luascale (locking_mode=EXCLUSIVE) (${sqliteCode})`;
  }
  if (sqliteCode === 'SQLITE_NOTADB' || sqliteCode.startsWith('SQLITE_CORRUPT')) {
    return `the file is not a SQLite database or is corrupt; move it aside to start a new store (${sqliteCode}: ${message})`;
  }
  if (sqliteCode === 'SQLITE_FULL') return `the disk is full (${sqliteCode})`;
  if (sqliteCode.startsWith('SQLITE_READONLY'))
    return `the file or its file system is read-only (${sqliteCode})`;
  if (sqliteCode.startsWith('SQLITE_IOERR')) return `I/O error (${sqliteCode}: ${message})`;
  if (sqliteCode === 'SQLITE_CANTOPEN') return `SQLite cannot open the file (${sqliteCode})`;
  return sqliteCode ? `${message} (${sqliteCode})` : message;
}

function accessProblem(path: string, mode: number): string | undefined {
  try {
    accessSync(path, mode);
    return undefined;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code ?? 'EACCES';
  }
}
