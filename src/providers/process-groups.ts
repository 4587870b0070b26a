/**
 * Process groups on Linux, read from /proc: is a recorded instance still ours, is a group alive,
 * signal or stop a whole group. The process provider spawns every instance as its own group leader.
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import type { InstanceRecord } from '../controller/provider.js';
import { groupMembers, readCmdline, readProcStat } from './proc-stat.js';

/** The environment variable every instance gets with its own id; adoption checks it in /proc/<pid>/environ. */
export const INSTANCE_ID_ENV = 'LUASCALE_INSTANCE_ID';

/** Whether a stored instance record is alive-and-ours, its pid gone, or its pid reused by someone else. */
export function classifyRecord(record: InstanceRecord): 'ours' | 'gone' | 'foreign' {
  const stat = readProcStat(record.pid);
  if (!stat || stat.state === 'Z' || stat.state === 'X') return 'gone';
  if (stat.pgid !== record.pgid) return 'foreign';
  if (readEnviron(record.pid)?.includes(`${INSTANCE_ID_ENV}=${record.id}`)) return 'ours';
  const cmdline = readCmdline(record.pid);
  return cmdline && cmdlineMatches(cmdline, record.command) ? 'ours' : 'foreign';
}

/**
 * Whether a /proc cmdline is the recorded command: equal, or (an interpreter exec'd through a
 * shebang or `env`) the same arguments after an argv[0] with the same base name.
 */
export function cmdlineMatches(cmdline: readonly string[], command: readonly string[]): boolean {
  if (sameArgv(cmdline, command)) return true;
  const args = command.slice(1);
  const tail = cmdline.slice(cmdline.length - args.length);
  if (cmdline.length <= args.length || !sameArgv(tail, args)) return false;
  const head = cmdline.slice(0, cmdline.length - args.length).map((a) => basename(a));
  return head.includes(basename(command[0] ?? ''));
}

/** Two argv arrays are equal. */
export function sameArgv(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function readEnviron(pid: number): string[] | undefined {
  try {
    return readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
  } catch {
    return undefined;
  }
}

/** kill(-pgid, signal), ignoring "no such group". */
export function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // ESRCH: the group is already gone.
  }
}

/**
 * True while a live (non-zombie) process of the group exists. Read from /proc rather than
 * kill(-pgid, 0), which also counts zombies that an init without reaping would leave behind.
 */
export function groupExists(pgid: number): boolean {
  return groupMembers(pgid).length > 0;
}

/** Polls `done` every 20 ms until it holds or `timeoutMs` passes; resolves whether it held. */
export async function waitUntil(done: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  while (!done()) {
    if (performance.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return true;
}

/** The pid runs (not a zombie an unreaping init keeps around) and still leads `pgid`. */
export function leaderAlive(pid: number, pgid: number): boolean {
  const stat = readProcStat(pid);
  return stat !== undefined && stat.pgid === pgid && stat.state !== 'Z' && stat.state !== 'X';
}

/** SIGTERM to a group we do not parent, SIGKILL after the grace; resolves when the leader is gone. */
export async function stopGroup(pid: number, pgid: number, graceMs: number): Promise<void> {
  signalGroup(pgid, 'SIGTERM');
  const alive = () => leaderAlive(pid, pgid);
  if (!(await waitUntil(() => !alive() && !groupExists(pgid), graceMs))) signalGroup(pgid, 'SIGKILL');
  await waitUntil(() => !alive(), 5000);
}
