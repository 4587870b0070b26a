/**
 * Adoption: which instance records a previous luascale run left in the store are taken over, which
 * are stopped and which are forgotten. See `ProcessProvider.adopt`.
 */
import type { AdoptionReport, Instance, InstanceRecord, InstanceStore } from '../controller/provider.js';
import { probeHealth } from './health-probe.js';
import { classifyRecord, groupExists, sameArgv, signalGroup, stopGroup } from './process-groups.js';

/** What `adoptRecords` needs from the provider. */
export interface AdoptRecordsOptions {
  service: string;
  /** The configured command (compared with records that carry no spec hash). */
  command: readonly string[];
  /** The configured launch spec's hash: a record with another one is adopted as outdated (rolled). */
  specHash: string;
  healthPath: string;
  probeTimeoutMs: number;
  stopGraceMs: number;
  /** A record still `starting` that was launched less than this long ago may still become ready. */
  startTimeoutMs: number;
  /** Wall-clock now (ms), to age `starting` records. */
  wallNow: number;
  store: InstanceStore;
  /** Ids and pids the provider already runs. */
  liveIds: Iterable<string>;
  livePids: Iterable<number>;
  /** Takes over one live record of ours; returns the adopted instance. */
  take: (record: InstanceRecord, how: { state: 'ready' | 'starting'; outdated: boolean }) => Instance;
}

/**
 * Walks the records: one is ours when its pid is alive, leads the recorded process group and its
 * environ carries our instance id (or its /proc cmdline matches the recorded command). Ours and
 * healthy is adopted `ready` (marked outdated when its launch spec changed, for the provider to
 * roll); ours, still `starting` and within the start timeout is adopted `starting`; any other of
 * ours is stopped (group SIGTERM, then SIGKILL). Records whose pid is gone or belongs to someone
 * else are dropped. Probes run in parallel, and the stale instances are stopped in parallel in the
 * background (`report.stopping` resolves when they are gone), so a restart is not held up by them.
 * Every record not adopted is removed from the store.
 */
export async function adoptRecords(
  records: readonly InstanceRecord[],
  options: AdoptRecordsOptions,
): Promise<AdoptionReport> {
  const { store } = options;
  const report: AdoptionReport = { adopted: [], stopped: [], forgotten: [] };
  const seenPids = new Set<number>(options.livePids);
  const seenIds = new Set<string>(options.liveIds);
  const candidates: InstanceRecord[] = [];
  for (const record of records) {
    if (record.service !== options.service) continue;
    if (seenIds.has(record.id) || seenPids.has(record.pid)) {
      if (!seenIds.has(record.id)) {
        report.forgotten.push(record);
        await store.remove(record.id);
      }
      continue;
    }
    seenIds.add(record.id);
    seenPids.add(record.pid);
    const verdict = classifyRecord(record);
    if (verdict === 'gone') {
      // The leader is gone; any members left in its group are orphans of ours: kill them.
      signalGroup(record.pgid, 'SIGKILL');
      (groupExists(record.pgid) ? report.stopped : report.forgotten).push(record);
      await store.remove(record.id);
      continue;
    }
    if (verdict === 'foreign') {
      report.forgotten.push(record);
      await store.remove(record.id);
      continue;
    }
    candidates.push(record);
  }
  const stops: Array<Promise<void>> = [];
  const probes = candidates.map(async (record) => {
    const current = record.specHash
      ? record.specHash === options.specHash
      : sameArgv(record.command, options.command);
    const probe = await probeHealth(`${record.url}${options.healthPath}`, options.probeTimeoutMs);
    if (probe.ok) {
      report.adopted.push(options.take(record, { state: 'ready', outdated: !current }));
      return;
    }
    const young = options.wallNow - record.startedAt < options.startTimeoutMs;
    if (current && record.state === 'starting' && young) {
      report.adopted.push(options.take(record, { state: 'starting', outdated: false }));
      return;
    }
    report.stopped.push(record);
    stops.push(stopGroup(record.pid, record.pgid, options.stopGraceMs).then(() => store.remove(record.id)));
  });
  await Promise.all(probes);
  report.stopping = Promise.all(stops).then(() => undefined);
  return report;
}
