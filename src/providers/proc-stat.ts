/**
 * Reads Linux /proc for the process provider: liveness, process groups, command lines and the
 * CPU/memory counters behind `usage()`. Parsing and the usage arithmetic are pure; only the
 * `read*` functions touch the file system. Off Linux every reader returns undefined.
 */
import { readFileSync, readdirSync } from 'node:fs';

/** The fields of /proc/<pid>/stat that luascale uses (proc(5)). */
export interface ProcStat {
  pid: number;
  /** One-letter state: R, S, D, Z (zombie), T, ... */
  state: string;
  ppid: number;
  pgid: number;
  /** utime + stime, in clock ticks (field 14 + 15). */
  cpuTicks: number;
  /** Field 22: start time after boot, in clock ticks; with the pid it names one process for ever. */
  startTime: number;
}

/** Parses one /proc/<pid>/stat line; undefined when it is not one. */
export function parseProcStat(text: string): ProcStat | undefined {
  // The comm field (2) is in parentheses and may itself hold spaces and ')': split after the last ')'.
  const close = text.lastIndexOf(')');
  if (close < 0) return undefined;
  const pid = Number.parseInt(text, 10);
  const rest = text
    .slice(close + 2)
    .trim()
    .split(/\s+/);
  // rest[0] is field 3 (state), so field N is rest[N - 3].
  const field = (n: number) => Number(rest[n - 3]);
  if (!Number.isInteger(pid) || rest.length < 20) return undefined;
  const stat = {
    pid,
    state: rest[0]!,
    ppid: field(4),
    pgid: field(5),
    cpuTicks: field(14) + field(15),
    startTime: field(22),
  };
  return Object.values(stat).some((v) => typeof v === 'number' && !Number.isFinite(v)) ? undefined : stat;
}

/** Resident pages from /proc/<pid>/statm (field 2). */
export function parseStatmResidentPages(text: string): number | undefined {
  const resident = Number(text.trim().split(/\s+/)[1]);
  return Number.isFinite(resident) ? resident : undefined;
}

/** /proc/<pid>/stat, or undefined when the process is gone (or this is not Linux). */
export function readProcStat(pid: number): ProcStat | undefined {
  try {
    return parseProcStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return undefined;
  }
}

/** Resident set size in bytes, or undefined when the process is gone. */
export function readRssBytes(pid: number, pageSize = 4096): number | undefined {
  try {
    const pages = parseStatmResidentPages(readFileSync(`/proc/${pid}/statm`, 'utf8'));
    return pages === undefined ? undefined : pages * pageSize;
  } catch {
    return undefined;
  }
}

/** The argv of a live process from /proc/<pid>/cmdline (NUL-separated). */
export function readCmdline(pid: number): string[] | undefined {
  try {
    const raw = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    if (raw === '') return undefined; // kernel threads and zombies have an empty cmdline
    return raw.replace(/\0$/, '').split('\0');
  } catch {
    return undefined;
  }
}

/** True when the pid exists and is not a zombie. */
export function isAlive(pid: number): boolean {
  const stat = readProcStat(pid);
  return stat !== undefined && stat.state !== 'Z' && stat.state !== 'X';
}

/** Every live (non-zombie) process, by one scan of /proc. */
export function readAllProcStats(): ProcStat[] {
  let names: string[];
  try {
    names = readdirSync('/proc');
  } catch {
    return [];
  }
  const out: ProcStat[] = [];
  for (const name of names) {
    if (!/^\d+$/.test(name)) continue;
    const stat = readProcStat(Number(name));
    if (stat && stat.state !== 'Z' && stat.state !== 'X') out.push(stat);
  }
  return out;
}

/** Live members of a process group. */
export function groupMembers(pgid: number, all: ProcStat[] = readAllProcStats()): ProcStat[] {
  return all.filter((s) => s.pgid === pgid);
}

/** One CPU/memory reading of a process group at monotonic time `at`. */
export interface UsageSample {
  at: number;
  cpuTicks: number;
  rssBytes: number;
}

/**
 * CPU in percent of one core between two samples: Δticks / CLK_TCK / Δseconds × 100 (the same
 * arithmetic as top(1) and pidusage). 0 on the first sample or when no time has passed.
 */
export function cpuPercent(prev: UsageSample | undefined, cur: UsageSample, clockTicks = 100): number {
  if (!prev || cur.at <= prev.at) return 0;
  const seconds = (cur.at - prev.at) / 1000;
  // A member exiting between samples removes its ticks from the group sum: clamp at 0.
  const ticks = Math.max(0, cur.cpuTicks - prev.cpuTicks);
  return (ticks / clockTicks / seconds) * 100;
}
