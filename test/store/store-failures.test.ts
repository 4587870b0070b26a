/**
 * Failure modes on real files (issue 4 "Store", issue 9 "Dependencies fail"): each gives one clear
 * LS_ERR_STORE_OPEN at start, and at runtime nothing is lost silently.
 * Tests run as root, and root ignores permission bits, so "unwritable" is made real with what root
 * cannot bypass: a path under a regular file (ENOTDIR), an immutable file (`chattr +i`, EPERM) and a
 * read-only tmpfs mount (EROFS). Disk full is a tiny tmpfs filled to the last byte. When the
 * kernel refuses mount or chattr (no CAP_SYS_ADMIN in CI), those tests skip and say why.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import {
  closeSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { ManualClock } from '../../src/core/clock.js';
import { isLuascaleError, type LuascaleError } from '../../src/core/errors.js';
import { openStore } from '../../src/store/sqlite-store.js';

const root = mkdtempSync(join(tmpdir(), 'luascale-store-fail-'));
const mounts: string[] = [];
after(() => {
  for (const m of mounts.reverse()) tryRun('umount', ['-l', m]);
  rmSync(root, { recursive: true, force: true });
});
let n = 0;
const fresh = (name = 'luascale.db') => {
  const dir = join(root, `d${n++}`);
  mkdirSync(dir);
  return join(dir, name);
};

function tryRun(cmd: string, args: string[]): string | undefined {
  try {
    execFileSync(cmd, args, { stdio: 'pipe' });
    return undefined;
  } catch (err) {
    return `${cmd} ${args.join(' ')}: ${String((err as { stderr?: Buffer }).stderr ?? (err as Error).message).trim()}`;
  }
}

/** Mounts a tmpfs of `size`; returns its path, or the reason it cannot (then the test skips). */
function tmpfs(size: string): { dir?: string; skip?: string } {
  const dir = join(root, `mnt${n++}`);
  mkdirSync(dir);
  const err = tryRun('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir]);
  if (err) return { skip: `cannot mount a tmpfs here (needs root with CAP_SYS_ADMIN): ${err}` };
  mounts.push(dir);
  return { dir };
}

/** Writes until ENOSPC. */
function fill(dir: string): string {
  const path = join(dir, 'filler');
  const fd = openSync(path, 'w');
  const chunk = Buffer.alloc(1024, 7);
  try {
    for (let i = 0; i < 1_000_000; i++) writeSync(fd, chunk);
    throw new Error('the tmpfs never filled up');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
  } finally {
    closeSync(fd);
  }
  return path;
}

function openError(file: string, pattern: RegExp) {
  return (err: unknown) => {
    assert.ok(isLuascaleError(err, 'LS_ERR_STORE_OPEN'), `expected LS_ERR_STORE_OPEN, got ${String(err)}`);
    assert.ok(err.message.startsWith(`${file}: cannot open store: `), err.message);
    assert.match(err.message, pattern);
    assert.ok(!err.message.includes('\n'), 'one line');
    return true;
  };
}

describe('store failure modes', () => {
  it('a file held by another luascale process fails with "locked"; after kill -9 it opens with every event', async () => {
    const file = fresh();
    const fixture = fileURLToPath(new URL('./fixtures/hold-store.ts', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', fixture, file, '3'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      let out = '';
      child.stdout.setEncoding('utf8');
      while (!out.includes('\n')) {
        const [chunk] = (await Promise.race([
          once(child.stdout, 'data'),
          once(child, 'exit').then(() => {
            throw new Error('holder exited early');
          }),
        ])) as [string];
        out += chunk;
      }
      assert.equal(out.trim(), 'ready 3');
      assert.throws(
        () => openStore({ file, busyTimeoutMs: 50, flushIntervalMs: 0 }),
        openError(file, /locked: another process \(another luascale\?\) has it open.*SQLITE_BUSY/),
      );
    } finally {
      const exited = once(child, 'exit');
      child.kill('SIGKILL');
      await exited;
    }
    const s = openStore({ file, flushIntervalMs: 0 });
    try {
      assert.deepEqual(
        s.events.list({ limit: 10 }).map((e) => [e.id, e.data]),
        [
          [1, { i: 0 }],
          [2, { i: 1 }],
          [3, { i: 2 }],
        ],
      );
    } finally {
      s.close();
    }
  });

  it('a second store on the same file in the same process is refused too', () => {
    const file = fresh();
    const s = openStore({ file, flushIntervalMs: 0 });
    try {
      assert.throws(() => openStore({ file, busyTimeoutMs: 20 }), openError(file, /locked/));
      s.events.append({ service: 'api', type: 'scale', at: 1, data: {} });
      assert.equal(s.pending().events, 0, 'the owner keeps writing');
    } finally {
      s.close();
    }
  });

  it('a corrupt file (garbage bytes) is named as not a database', () => {
    const file = fresh();
    writeFileSync(file, Buffer.from('this is not sqlite '.repeat(400)));
    assert.throws(
      () => openStore({ file, flushIntervalMs: 0 }),
      openError(file, /not a SQLite database or is corrupt; move it aside.*SQLITE_NOTADB/),
    );
  });

  it('corrupt pages inside a valid file fail at open or at read as one LS_ERR_STORE_* error, never as a short answer', () => {
    const file = fresh();
    const s = openStore({ file, flushIntervalMs: 0 });
    const pad = 'p'.repeat(1000);
    for (let i = 0; i < 3000; i++)
      s.events.append({ service: 'api', type: 'scale', at: i, data: { i, pad } });
    s.close();
    const size = statSync(file).size;
    const fd = openSync(file, 'r+');
    const junk = Buffer.alloc(4096, 0xa5);
    // garbage over 30–50 % of the pages: the header and schema (page 1) stay valid
    for (let off = Math.floor((size * 0.3) / 4096) * 4096; off < size * 0.5; off += 4096)
      writeSync(fd, junk, 0, 4096, off);
    closeSync(fd);
    let store;
    try {
      store = openStore({ file, flushIntervalMs: 0, onError: () => {} });
    } catch (err) {
      openError(file, /corrupt/)(err);
      return;
    }
    try {
      let listed: number | undefined;
      try {
        listed = store.events.list({ limit: 5000 }).length;
      } catch (err) {
        assert.ok(isLuascaleError(err, 'LS_ERR_STORE_READ'), String(err));
        assert.match(
          err.message,
          new RegExp(
            `^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: read failed: .*corrupt.*SQLITE_CORRUPT`,
          ),
        );
      }
      if (listed !== undefined) assert.equal(listed, 3000, 'a list that returns is complete');
    } finally {
      try {
        store.close();
      } catch {
        // closing may fail on the same pages; what matters is above
      }
    }
  });

  it('a path under a regular file (root cannot bypass ENOTDIR) is refused', () => {
    const plain = fresh('plain');
    writeFileSync(plain, 'x');
    const file = join(plain, 'sub', 'luascale.db');
    assert.throws(
      () => openStore({ file, flushIntervalMs: 0 }),
      openError(file, /cannot create directory .*sub: a parent of it is not a directory/),
    );
  });

  it('a directory instead of a file is refused', () => {
    const file = fresh();
    mkdirSync(file);
    assert.throws(() => openStore({ file, flushIntervalMs: 0 }), openError(file, /not a regular file/));
  });

  it('an immutable file (chattr +i, which binds root too) is named as not writable', (t) => {
    const file = fresh();
    openStore({ file, flushIntervalMs: 0 }).close();
    const err = tryRun('chattr', ['+i', file]);
    if (err) return t.skip(`chattr +i is not available on ${tmpdir()}: ${err}`);
    try {
      assert.throws(
        () => openStore({ file, flushIntervalMs: 0 }),
        openError(file, /the file is not writable \(EPERM, immutable\?/),
      );
    } finally {
      tryRun('chattr', ['-i', file]);
    }
  });

  it('a store on a read-only file system (remounted ro) is named as not writable', (t) => {
    const m = tmpfs('1m');
    if (!m.dir) return t.skip(m.skip);
    const file = join(m.dir, 'luascale.db');
    const s = openStore({ file, flushIntervalMs: 0 });
    s.events.append({ service: 'api', type: 'scale', at: 1, data: {} });
    s.close();
    const err = tryRun('mount', ['-o', 'remount,ro', m.dir]);
    if (err) return t.skip(`cannot remount read-only: ${err}`);
    assert.throws(() => openStore({ file, flushIntervalMs: 0 }), openError(file, /not writable \(EROFS/));
  });

  it('a full disk at start fails with "disk is full"', (t) => {
    const m = tmpfs('64k');
    if (!m.dir) return t.skip(m.skip);
    fill(m.dir);
    const file = join(m.dir, 'luascale.db');
    assert.throws(() => openStore({ file, flushIntervalMs: 0 }), openError(file, /disk is full|SQLITE_FULL/));
  });

  it('a disk that fills at runtime keeps events queued, reports, retries and loses none', (t) => {
    const m = tmpfs('512k');
    if (!m.dir) return t.skip(m.skip);
    const file = join(m.dir, 'luascale.db');
    const clock = new ManualClock(0, 1_700_000_000_000);
    const errors: Array<{ error: LuascaleError; events: number }> = [];
    const s = openStore({
      file,
      clock,
      flushIntervalMs: 0,
      maxPendingEvents: 50,
      onError: (error, p) => errors.push({ error, events: p.events }),
    });
    s.events.append({ service: 'api', type: 'scale', at: 0, data: { before: true } });
    const filler = fill(m.dir);
    const big = 'x'.repeat(4000);
    const ids: number[] = [];
    for (let i = 0; i < 10; i++)
      ids.push(s.events.append({ service: 'api', type: 'decision', at: i + 1, data: { i, big } }));
    for (let sec = 0; sec < 50; sec++) s.history.record('api', 'rps', clock.wallNow() + sec * 1000, sec);
    assert.throws(
      () => s.flush(),
      (err) =>
        isLuascaleError(err, 'LS_ERR_STORE_WRITE') &&
        err.message.includes(file) &&
        /disk is full/.test(err.message),
    );
    assert.ok(errors.length >= 1, 'the failure was reported');
    assert.equal(errors[0]!.error.code, 'LS_ERR_STORE_WRITE');
    assert.ok(s.failing);
    assert.deepEqual(s.pending().events, 10);
    assert.equal(s.pending().samples, 50);
    // queued events are readable, in order, while the disk is full
    assert.deepEqual(
      s.events.list({ limit: 100 }).map((e) => e.id),
      [1, ...ids],
    );
    assert.equal(s.history.series('api', 'rps', 50, clock.wallNow() + 49_000).avg.length, 50);
    // the queue is bounded loudly, not by dropping
    for (let i = 0; i < 40; i++) s.events.append({ service: 'api', type: 'scale', at: 100 + i, data: { i } });
    assert.throws(
      () => s.events.append({ service: 'api', type: 'scale', at: 999, data: {} }),
      (err) => isLuascaleError(err, 'LS_ERR_STORE_WRITE') && /50 events are waiting/.test(err.message),
    );

    rmSync(filler);
    clock.advance(10_000); // past the retry backoff
    s.events.append({ service: 'api', type: 'scale', at: 1000, data: { after: true } });
    assert.equal(s.pending().events, 0, 'the retry wrote the whole queue');
    s.flush();
    assert.equal(s.failing, false);
    s.close();

    const again = openStore({ file, clock, flushIntervalMs: 0 });
    try {
      const all = again.events.list({ limit: 1000 });
      assert.equal(all.length, 52);
      assert.deepEqual(
        all.map((e) => e.id),
        Array.from({ length: 52 }, (_, i) => i + 1),
      );
      assert.deepEqual(all[1]!.data, { i: 0, big });
      assert.deepEqual(all[51]!.data, { after: true });
      const series = again.history.series('api', 'rps', 50, clock.wallNow() - 10_000 + 49_000);
      assert.deepEqual(
        series.avg,
        Array.from({ length: 50 }, (_, i) => i),
      );
    } finally {
      again.close();
    }
  });

  it('the flush timer retries a failed write with backoff and drains the queue once the disk has room', (t) => {
    const m = tmpfs('512k');
    if (!m.dir) return t.skip(m.skip);
    t.mock.timers.enable({ apis: ['setInterval'] });
    const file = join(m.dir, 'luascale.db');
    const clock = new ManualClock(0, 1_700_000_000_000);
    const reported: string[] = [];
    const s = openStore({ file, clock, flushIntervalMs: 100, onError: (e) => reported.push(e.code) });
    try {
      const filler = fill(m.dir);
      for (let sec = 0; sec < 200; sec++) s.history.record('api', 'rps', clock.wallNow() + sec * 1000, sec);
      t.mock.timers.tick(100);
      assert.deepEqual(reported, ['LS_ERR_STORE_WRITE']);
      assert.equal(s.pending().samples, 200);
      // within the backoff (100 ms, then 200 ms, ...) ticks do not hammer the disk
      t.mock.timers.tick(100);
      assert.equal(reported.length, 1);
      clock.advance(150);
      t.mock.timers.tick(100);
      assert.equal(reported.length, 2);
      rmSync(filler);
      clock.advance(1000);
      t.mock.timers.tick(100);
      assert.equal(reported.length, 2);
      assert.equal(s.pending().samples, 0);
      assert.equal(s.failing, false);
    } finally {
      s.close();
    }
  });

  it('close() with a write that keeps failing throws and says what was not written', (t) => {
    const m = tmpfs('512k');
    if (!m.dir) return t.skip(m.skip);
    const file = join(m.dir, 'luascale.db');
    const s = openStore({ file, flushIntervalMs: 0, onError: () => {} });
    fill(m.dir);
    s.events.append({ service: 'api', type: 'scale', at: 1, data: { big: 'y'.repeat(8000) } });
    assert.throws(
      () => s.close(),
      (err) =>
        isLuascaleError(err, 'LS_ERR_STORE_WRITE') &&
        err.message ===
          `${file}: write failed: closed with 1 event(s), 0 instance change(s), 0 state value(s) and 0 sample(s) not written: the disk is full (SQLITE_FULL)`,
    );
  });
});
