/** What the process provider keeps per instance, and the record it stores for adoption. */
import type { ChildProcess } from 'node:child_process';
import type { ExitInfo, Instance, InstanceRecord } from '../controller/provider.js';

/** One instance of the process provider: its public state plus the handles of its lifecycle. */
export interface Slot {
  instance: Instance;
  command: string[];
  /** The launch spec's hash (process-provider-options.ts `launchSpecHash`). */
  specHash?: string;
  /**
   * A roll's replacement (issue 17 item 8): the id of the outdated instance it replaces. It is
   * hidden from `list()` while starting, so the controller neither counts nor removes it.
   */
  replaces?: string;
  /** An adopted instance whose launch spec differs from the configured one: rolled after adoption. */
  outdated?: boolean;
  /** Absent for an adopted instance (no exit event: its death is noticed by polling /proc). */
  child?: ChildProcess;
  /** Monotonic start and ready times, for the start timeout and the crash back-off reset. */
  startedMono: number;
  readyMono?: number;
  stopping: boolean;
  /** Set when luascale itself decided the instance failed (start timeout). */
  failure?: string;
  /** True once luascale itself sent the SIGKILL that ends it (start timeout), so its exit is no crash report. */
  killedByUs?: boolean;
  exited: Promise<ExitInfo>;
  resolveExit: (exit: ExitInfo) => void;
  done: boolean;
  drainPromise?: Promise<void>;
  stopPromise?: Promise<void>;
}

/** A new slot, not stopping, whose `exited` resolves through `resolveExit`. */
export function newSlot(instance: Instance, command: string[], startedMono: number): Slot {
  let resolveExit!: (exit: ExitInfo) => void;
  const exited = new Promise<ExitInfo>((resolve) => (resolveExit = resolve));
  return { instance, command, startedMono, stopping: false, exited, resolveExit, done: false };
}

/** The store record of a slot (what a later luascale run needs to adopt or stop it). */
export function slotRecord(slot: Slot): InstanceRecord {
  const i = slot.instance;
  return {
    id: i.id,
    service: i.service,
    pid: i.pid!,
    pgid: i.pgid!,
    port: i.port!,
    url: i.url,
    command: slot.command,
    ...(slot.specHash !== undefined ? { specHash: slot.specHash } : {}),
    state: i.state,
    startedAt: i.startedAt,
    ...(i.readyAt !== undefined ? { readyAt: i.readyAt } : {}),
    ...(i.logFile !== undefined ? { logFile: i.logFile } : {}),
  };
}
