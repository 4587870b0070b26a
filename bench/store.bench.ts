/**
 * Store write and read costs. The load the issue names: 10 metrics × 100 services recorded every
 * second. Ours (prepared statements, one transaction per flush, 2 tiers) beside the raw peer that
 * most code would write first: one autocommit INSERT per sample (no tiers), on the same machine in
 * the same run.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { ManualClock } from '../src/core/clock.js';
import { openStore } from '../src/store/sqlite-store.js';
import type { Emit } from './run.js';

const SERVICES = 100;
const METRICS = 10;
const SECONDS = 30;

export default async function storeBench(emit: Emit): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'luascale-bench-store-'));
  try {
    const t0 = 1_700_000_000_000;
    const clock = new ManualClock(0, t0);
    const store = openStore({ file: join(dir, 'ours.db'), clock, flushIntervalMs: 0 });
    const flushMs: number[] = [];
    let recordNs = 0;
    for (let sec = 0; sec < SECONDS; sec++) {
      const t = t0 + sec * 1000;
      const r0 = process.hrtime.bigint();
      for (let s = 0; s < SERVICES; s++)
        for (let m = 0; m < METRICS; m++) store.history.record(`svc${s}`, `m${m}`, t, s + m + sec);
      recordNs += Number(process.hrtime.bigint() - r0);
      const f0 = performance.now();
      store.flush();
      flushMs.push(performance.now() - f0);
      clock.advance(1000);
    }
    const samples = SECONDS * SERVICES * METRICS;
    flushMs.sort((a, b) => a - b);
    const meanFlush = flushMs.reduce((a, b) => a + b, 0) / flushMs.length;

    // peer: one autocommit INSERT per sample, same WAL/synchronous settings, no tiers
    const peer = new Database(join(dir, 'peer.db'));
    peer.pragma('journal_mode = WAL');
    peer.pragma('synchronous = NORMAL');
    peer.exec(
      'CREATE TABLE s (service TEXT, metric TEXT, t INTEGER, v REAL, PRIMARY KEY (service, metric, t)) WITHOUT ROWID',
    );
    const ins = peer.prepare('INSERT OR REPLACE INTO s VALUES (?, ?, ?, ?)');
    const peerSeconds = 3;
    const p0 = performance.now();
    for (let sec = 0; sec < peerSeconds; sec++)
      for (let s = 0; s < SERVICES; s++)
        for (let m = 0; m < METRICS; m++) ins.run(`svc${s}`, `m${m}`, sec, s + m);
    const peerPerSecondMs = (performance.now() - p0) / peerSeconds;
    peer.close();

    emit({
      name: 'store.history.flush_1000_samples',
      value: round(meanFlush),
      unit: 'ms per 1-second flush (100 services x 10 metrics, 2 tiers)',
      p50_ms: round(flushMs[Math.floor(flushMs.length / 2)]!),
      max_ms: round(flushMs[flushMs.length - 1]!),
      record_ns_per_sample: Math.round(recordNs / samples),
      share_of_one_core_pct: round((meanFlush + recordNs / 1e6 / SECONDS) / 10),
      peer_autocommit_insert_ms: round(peerPerSecondMs),
      ratio_peer_over_ours: round(peerPerSecondMs / meanFlush),
    });

    // reads: what a policy tick and the admin API do
    const now = t0 + (SECONDS - 1) * 1000;
    const reader = store.history.historyReader('svc7');
    const reads = 2000;
    let r0 = performance.now();
    for (let i = 0; i < reads; i++) reader.series('m3', 60, now);
    const read60 = ((performance.now() - r0) * 1000) / reads;
    r0 = performance.now();
    for (let i = 0; i < 200; i++) store.history.series('svc7', 'm3', 7200, now);
    const readLong = ((performance.now() - r0) * 1000) / 200;
    emit({
      name: 'store.history.read_60s',
      value: round(read60),
      unit: 'us per historyReader.series(60 s)',
      series_2h_minute_tier_us: round(readLong),
    });

    // events: each append is its own small transaction (durable at return)
    const n = 2000;
    const e0 = performance.now();
    for (let i = 0; i < n; i++)
      store.events.append({
        service: `svc${i % SERVICES}`,
        type: 'scale',
        at: t0 + i,
        data: { from: 2, to: 3, i },
      });
    const appendUs = ((performance.now() - e0) * 1000) / n;
    const l0 = performance.now();
    for (let i = 0; i < 200; i++) store.events.list({ service: 'svc5', limit: 50, order: 'desc' });
    const listUs = ((performance.now() - l0) * 1000) / 200;
    emit({
      name: 'store.events.append',
      value: round(appendUs),
      unit: 'us per durable append',
      list_50_us: round(listUs),
    });
    store.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function round(v: number): number {
  return Math.round(v * 100) / 100;
}
