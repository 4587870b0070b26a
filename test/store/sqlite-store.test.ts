import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { ManualClock } from '../../src/core/clock.js';
import { isLuascaleError } from '../../src/core/errors.js';
import type { InstanceStore as ControllerInstanceStore } from '../../src/controller/provider.js';
import type { ControllerEvent } from '../../src/controller/service-controller.js';
import {
  MIGRATIONS,
  SCHEMA_VERSION,
  migrate,
  schemaVersion,
  type Migration,
} from '../../src/store/migrations.js';
import { openStore } from '../../src/store/sqlite-store.js';
import type { OpenStoreOptions } from '../../src/store/open-store-options.js';
import { eventStoreContract, sampleDecision } from './contracts/event-store-contract.js';
import { instanceStoreContract } from './contracts/instance-store-contract.js';
import { metricHistoryStoreContract, T0S } from './contracts/metric-history-store-contract.js';
import { stateStoreContract } from './contracts/state-store-contract.js';

const root = mkdtempSync(join(tmpdir(), 'luascale-store-'));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const freshFile = () => join(root, `s${n++}.db`);

function handle(file: string, extra: Partial<OpenStoreOptions> = {}) {
  const store = openStore({ file, flushIntervalMs: 0, ...extra });
  const h = {
    store,
    events: store.events,
    history: store.history,
    state: store.state,
    instances: store.instances,
    flush: () => store.flush(),
    close: () => store.close(),
    reopen: async () => handle(file, extra),
  };
  return h;
}

eventStoreContract('sqlite', async () => handle(freshFile()));
stateStoreContract('sqlite', async () => handle(freshFile()));
instanceStoreContract('sqlite', async () => handle(freshFile()));
metricHistoryStoreContract('sqlite', async ({ tiers, clock }) =>
  handle(freshFile(), { retention: { tiers }, clock }),
);

describe('SqliteStore', () => {
  it('is the InstanceStore the process provider takes (type check) and opens in WAL mode', () => {
    const file = freshFile();
    const store = openStore({ file, flushIntervalMs: 0 });
    const forProvider: ControllerInstanceStore = store.instances;
    assert.equal(typeof forProvider.upsert, 'function');
    store.close();
    const db = new Database(file);
    assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
    assert.equal(schemaVersion(db), SCHEMA_VERSION);
    db.close();
  });

  it("takes the controller's events as they are (onEvent: store.events.append)", () => {
    const store = openStore({ file: freshFile(), flushIntervalMs: 0 });
    const onEvent: (e: ControllerEvent) => void = (e) => void store.events.append(e);
    onEvent({ service: 'api', type: 'override', at: 5, data: { paused: true } });
    assert.deepEqual(store.events.list({ limit: 1 })[0], {
      id: 1,
      service: 'api',
      type: 'override',
      at: 5,
      data: { paused: true },
    });
    store.close();
  });

  it('opens ":memory:" as a private in-memory store without creating a file', () => {
    const store = openStore({ file: ':memory:', flushIntervalMs: 0 });
    store.state.set('api', 'k', 1);
    store.flush();
    assert.equal(store.state.get('api', 'k'), 1);
    store.close();
    assert.equal(existsSync(':memory:'), false);
  });

  it('event ids are never reused, even after every event was pruned', () => {
    const file = freshFile();
    const clock = new ManualClock(0, 1_000_000_000_000);
    const s1 = openStore({ file, flushIntervalMs: 0, clock, retention: { eventsKeepSeconds: 60 } });
    const a = s1.events.append({ service: 'api', type: 'scale', at: clock.wallNow(), data: 1 });
    const b = s1.events.append({ service: 'api', type: 'scale', at: clock.wallNow(), data: 2 });
    clock.advance(120_000);
    s1.history.prune(clock.wallNow());
    assert.deepEqual(s1.events.list({ limit: 10 }), []);
    s1.close();
    const s2 = openStore({ file, flushIntervalMs: 0, clock });
    const c = s2.events.append({ service: 'api', type: 'scale', at: clock.wallNow(), data: 3 });
    assert.ok(a < b && b < c, `${a} < ${b} < ${c}`);
    s2.close();
  });

  it('state and samples are durable after flush; events and instance changes at once', () => {
    const file = freshFile();
    const s = openStore({ file, flushIntervalMs: 0 });
    s.events.append({ service: 'api', type: 'alert', at: 1, data: { name: 'x' } });
    s.instances.upsert({
      id: 'i1',
      service: 'api',
      pid: 1,
      pgid: 1,
      port: 1,
      url: 'http://127.0.0.1:1',
      command: ['x'],
      state: 'ready',
      startedAt: 1,
    });
    s.state.set('api', 'k', 1);
    s.history.record('api', 'rps', T0S * 1000, 5);
    assert.deepEqual(s.pending(), { events: 0, instances: 0, state: 1, samples: 1 });
    s.flush();
    assert.deepEqual(s.pending(), { events: 0, instances: 0, state: 0, samples: 0 });
    s.close();
  });

  it('a decision event written by one store is read back whole by the next', () => {
    const file = freshFile();
    const s = openStore({ file, flushIntervalMs: 0 });
    const d = sampleDecision('api');
    s.events.append({ service: 'api', type: 'decision', at: d.at, data: d });
    s.close();
    const db = new Database(file, { readonly: true });
    const row = db.prepare('SELECT data FROM events').get() as { data: string };
    db.close();
    assert.deepEqual(JSON.parse(row.data), JSON.parse(JSON.stringify(d)));
  });

  it('rejects bad retention with LS_ERR_STORE_OPEN naming the file', () => {
    const file = freshFile();
    assert.throws(
      () =>
        openStore({
          file,
          retention: {
            tiers: [
              { stepSeconds: 1, keepSeconds: 60 },
              { stepSeconds: 45, keepSeconds: 600 },
              { stepSeconds: 60, keepSeconds: 900 },
            ],
          },
        }),
      (err) =>
        isLuascaleError(err, 'LS_ERR_STORE_OPEN') &&
        err.message.includes(file) &&
        /tiers\[2\]\.stepSeconds \(60\) must be a larger multiple/.test(err.message),
    );
  });

  it('a changed retention drops the tiers no longer configured', () => {
    const file = freshFile();
    const tiers = [
      { stepSeconds: 1, keepSeconds: 60 },
      { stepSeconds: 10, keepSeconds: 600 },
    ];
    const s1 = openStore({ file, flushIntervalMs: 0, retention: { tiers } });
    s1.history.record('api', 'rps', T0S * 1000, 3);
    s1.close();
    const s2 = openStore({
      file,
      flushIntervalMs: 0,
      retention: {
        tiers: [
          { stepSeconds: 1, keepSeconds: 60 },
          { stepSeconds: 60, keepSeconds: 600 },
        ],
      },
    });
    s2.close();
    const db = new Database(file, { readonly: true });
    const steps = db.prepare('SELECT DISTINCT step FROM history ORDER BY step').all() as Array<{
      step: number;
    }>;
    db.close();
    assert.deepEqual(
      steps.map((r) => r.step),
      [1],
    );
  });
});

describe('migrations', () => {
  it('opens a database created by schema version 1 and migrates it, keeping its data', () => {
    const file = freshFile();
    const old = new Database(file);
    old.pragma('journal_mode = WAL');
    assert.deepEqual(migrate(old, { to: 1, now: 5 }), [1]);
    old
      .prepare("INSERT INTO events (service, type, at, data) VALUES ('api', 'scale', 7, '{\"to\":3}')")
      .run();
    old
      .prepare(
        "INSERT INTO state (service, key, value, updated_at) VALUES ('api', 'decision', '{\"paused\":true}', 7)",
      )
      .run();
    old.close();

    const s = openStore({ file, flushIntervalMs: 0 });
    assert.deepEqual(s.events.list({ limit: 10 }), [
      { id: 1, service: 'api', type: 'scale', at: 7, data: { to: 3 } },
    ]);
    assert.deepEqual(s.state.get('api', 'decision'), { paused: true });
    assert.equal(s.events.append({ service: 'api', type: 'scale', at: 8, data: {} }), 2);
    s.history.record('api', 'rps', T0S * 1000, 1); // a version-2 table
    s.close();
    const db = new Database(file, { readonly: true });
    const versions = db.prepare('SELECT version FROM schema_version ORDER BY version').all() as Array<{
      version: number;
    }>;
    db.close();
    assert.deepEqual(
      versions.map((v) => v.version),
      MIGRATIONS.map((m) => m.version),
    );
  });

  it('a failing migration rolls back and leaves the previous version', () => {
    const db = new Database(':memory:');
    const broken: Migration[] = [
      MIGRATIONS[0]!,
      { version: 2, description: 'broken', sql: 'CREATE TABLE half (x); INSERT INTO nowhere VALUES (1);' },
    ];
    assert.throws(() => migrate(db, { migrations: broken }), /no such table: nowhere/);
    assert.equal(schemaVersion(db), 1);
    assert.deepEqual(db.prepare("SELECT name FROM sqlite_master WHERE name = 'half'").all(), []);
    db.close();
  });

  it('refuses a file written by a newer luascale with LS_ERR_STORE_OPEN', () => {
    const file = freshFile();
    openStore({ file, flushIntervalMs: 0 }).close();
    const db = new Database(file);
    db.prepare("INSERT INTO schema_version (version, applied_at, description) VALUES (?, 0, 'future')").run(
      SCHEMA_VERSION + 6,
    );
    db.close();
    assert.throws(
      () => openStore({ file }),
      (err) =>
        isLuascaleError(err, 'LS_ERR_STORE_OPEN') &&
        err.message.startsWith(`${file}: cannot open store:`) &&
        err.message.includes(`schema version ${SCHEMA_VERSION + 6} was written by a newer luascale`),
    );
  });
});
