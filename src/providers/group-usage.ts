/** CPU and memory of process groups, from one scan of /proc. */
import type { InstanceUsage } from '../controller/provider.js';
import { cpuPercent, readAllProcStats, readRssBytes, type UsageSample } from './proc-stat.js';

/**
 * CPU (percent of one core) and memory (percent of `memoryLimitBytes`) per instance, summed over
 * its whole process group. CPU is the tick delta since the sample kept in `samples` (updated here;
 * the first call for an instance reports 0); samples of instances not in `groups` are dropped.
 */
export function groupUsage(
  groups: ReadonlyMap<string, number | undefined>,
  samples: Map<string, UsageSample>,
  options: { now: number; memoryLimitBytes: number },
): Map<string, InstanceUsage> {
  const out = new Map<string, InstanceUsage>();
  if (groups.size === 0) return out;
  const all = readAllProcStats();
  for (const [id, pgid] of groups) {
    if (pgid === undefined) continue;
    const members = all.filter((s) => s.pgid === pgid);
    if (members.length === 0) continue;
    const sample: UsageSample = {
      at: options.now,
      cpuTicks: members.reduce((sum, m) => sum + m.cpuTicks, 0),
      rssBytes: members.reduce((sum, m) => sum + (readRssBytes(m.pid) ?? 0), 0),
    };
    out.set(id, {
      cpu: cpuPercent(samples.get(id), sample),
      memory: (sample.rssBytes / options.memoryLimitBytes) * 100,
      rssBytes: sample.rssBytes,
    });
    samples.set(id, sample);
  }
  for (const id of samples.keys()) if (!groups.has(id)) samples.delete(id);
  return out;
}
