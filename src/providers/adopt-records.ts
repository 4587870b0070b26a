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
  /** The configured command: a record running another one is stopped, not adopted. */
  command: readonly string[];
  healthPath: string;
  probeTimeoutMs: number;
  stopGraceMs: number;
  store: InstanceStore;
  /** Ids and pids the provider already runs. */
  liveIds: Iterable<string>;
  livePids: Iterable<number>;
  /** Takes over one live, healthy record of ours; returns the adopted instance. */
  take: (record: InstanceRecord) => Instance;
}

/**
 * Walks the records: one is adopted when its pid is alive, leads the recorded process group, is
 * ours (its environ carries our instance id, or its /proc cmdline matches the recorded command),
 * still runs the configured command and passes a health probe. Ours-but-not-adoptable instances
 * are stopped (group SIGTERM, then SIGKILL); records whose pid is gone or belongs to someone else
 * are dropped. Every record not adopted is removed from the store.
 */
export async function adoptRecords(
  records: readonly InstanceRecord[],
  options: AdoptRecordsOptions,
): Promise<AdoptionReport> {
  const { store } = options;
  const report: AdoptionReport = { adopted: [], stopped: [], forgotten: [] };
  const seenPids = new Set<number>(options.livePids);
  const seenIds = new Set<string>(options.liveIds);
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
    const current = sameArgv(record.command, options.command);
    const healthy =
      current && (await probeHealth(`${record.url}${options.healthPath}`, options.probeTimeoutMs)).ok;
    if (!healthy) {
      await stopGroup(record.pid, record.pgid, options.stopGraceMs);
      report.stopped.push(record);
      await store.remove(record.id);
      continue;
    }
    seenPids.add(record.pid);
    report.adopted.push(options.take(record));
  }
  return report;
}
