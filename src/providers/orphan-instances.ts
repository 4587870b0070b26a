/**
 * Instances of services that are no longer run by the process provider (renamed or removed from
 * the config, or moved to another provider) left in the instance store by a previous luascale run,
 * e.g. after a kill -9: nobody would adopt them, so they would live on for good. They are stopped
 * (group SIGTERM, then SIGKILL after the grace), in parallel and in the background, and their
 * records removed. Only the store is searched: instances recorded in another store file (a changed
 * `store.sqlite`) are not found (docs/providers.md).
 */
import type { InstanceRecord, InstanceStore } from '../controller/provider.js';
import { classifyRecord, groupExists, signalGroup, stopGroup } from './process-groups.js';

/** Options of {@link stopOrphanInstances}. */
export interface StopOrphansOptions {
  /** The services the process provider runs now; records of any other service are orphans. */
  services: ReadonlySet<string>;
  stopGraceMs: number;
  store: InstanceStore & { list(service?: string): InstanceRecord[] | Promise<InstanceRecord[]> };
}

/** What was found: the live orphans being stopped (`stopping` resolves when they are gone). */
export interface OrphanReport {
  stopped: InstanceRecord[];
  /** Records whose process is gone or belongs to someone else: dropped, nothing signalled. */
  forgotten: InstanceRecord[];
  stopping: Promise<void>;
}

/** Finds the orphans in the store and starts stopping them; resolves once they are known. */
export async function stopOrphanInstances(options: StopOrphansOptions): Promise<OrphanReport> {
  const { store } = options;
  const report: OrphanReport = { stopped: [], forgotten: [], stopping: Promise.resolve() };
  const stops: Array<Promise<void>> = [];
  for (const record of await store.list()) {
    if (options.services.has(record.service)) continue;
    const verdict = classifyRecord(record);
    if (verdict === 'ours') {
      report.stopped.push(record);
      stops.push(stopGroup(record.pid, record.pgid, options.stopGraceMs).then(() => store.remove(record.id)));
      continue;
    }
    if (verdict === 'gone') {
      // Members the leader left behind in its group are ours too.
      signalGroup(record.pgid, 'SIGKILL');
      (groupExists(record.pgid) ? report.stopped : report.forgotten).push(record);
    } else {
      report.forgotten.push(record);
    }
    await store.remove(record.id);
  }
  report.stopping = Promise.all(stops).then(() => undefined);
  return report;
}

/** `web (3), old-api (1)`: the services of the records and how many each. */
export function countByService(records: readonly InstanceRecord[]): string {
  const counts = new Map<string, number>();
  for (const r of records) counts.set(r.service, (counts.get(r.service) ?? 0) + 1);
  return [...counts].map(([s, n]) => `${s} (${n})`).join(', ');
}
