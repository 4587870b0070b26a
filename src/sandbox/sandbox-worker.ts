/**
 * The wall-clock backstop for Lua policies: policies live in a worker thread, and a call that runs
 * longer than `timeoutMs` (a C-level hang the count hook cannot see, such as a pathological
 * `string.find` pattern) gets the worker terminated and respawned with every policy reloaded; that
 * call's outcome is LS_ERR_POLICY_TIMEOUT, and after two timeouts in a row the policy sits out a
 * quarantine, so one bad policy cannot make the worker restart every tick (while one stall of a
 * busy machine does not bench a good policy for a minute).
 *
 * Deadline: the worker writes the index of the item it is evaluating and its start time into a
 * SharedArrayBuffer before each item; the main thread checks it with a timer. A batch of 10,000
 * items costs one message each way.
 *
 * History: `ctx.history` is a main-thread object the policy calls synchronously; the worker asks
 * for it over a MessagePort (history-bridge.ts). The wire format is worker-protocol.ts, the
 * worker's side sandbox-worker-thread.ts.
 *
 * Worker state machine: starting → ready ⇄ busy → (timeout: terminated → starting) … → closed.
 */
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import { ERRORS, LuascaleError, formatMessage } from '../core/errors.js';
import type { PolicyContext, PolicyOutcome } from '../policy/policy.js';
import { answerHistory, type HistoryRequest } from './history-bridge.js';
import type { LoadLuaPolicyOptions } from './lua-policy.js';
import type { SandboxWorkerData } from './sandbox-worker-thread.js';
import {
  PROGRESS_ITEM,
  PROGRESS_TIME,
  encodeCalls,
  failedOutcome,
  notFoundOutcome,
  sentCacheOf,
  type FromWorker,
  type SandboxCall,
  type SentCache,
  type ToWorker,
} from './worker-protocol.js';

export type { SandboxCall } from './worker-protocol.js';

/** Options of a SandboxWorker. */
export interface SandboxWorkerOptions {
  /** Wall-clock limit per evaluate() in ms; default 100. */
  timeoutMs?: number;
  /**
   * After `strikes` timeouts in a row the policy is not run again for this long (ms, main-thread
   * monotonic clock); default 60,000.
   */
  quarantineMs?: number;
  /** Consecutive timeouts before the quarantine; default 2 (one stall of a busy machine is forgiven). */
  strikes?: number;
  /** How long a history() call waits for the main thread, ms; default 1,000. */
  historyWaitMs?: number;
}

/** A policy a SandboxWorker can load: what loadLuaPolicy takes. */
export type SandboxPolicySpec = LoadLuaPolicyOptions;

/** Lua policies in a worker thread, evaluated with a wall-clock deadline per call. */
export interface SandboxWorker {
  /** Loads (or replaces) a policy; rejects with the LuascaleError loadLuaPolicy would throw. */
  load(policyId: string, spec: SandboxPolicySpec): Promise<void>;
  unload(policyId: string): Promise<void>;
  /** Evaluates one call; never rejects (failures are outcomes). */
  evaluate(policyId: string, ctx: PolicyContext): Promise<PolicyOutcome>;
  /** Evaluates many calls in one round trip; outcomes in the same order. */
  evaluateBatch(calls: readonly SandboxCall[]): Promise<PolicyOutcome[]>;
  /** Times the worker was terminated for a timeout and respawned. */
  readonly restarts: number;
  close(): Promise<void>;
}

/** Starts a sandbox worker thread. */
export async function startSandboxWorker(options: SandboxWorkerOptions = {}): Promise<SandboxWorker> {
  const host = new WorkerHost(options);
  await host.spawn();
  return host;
}

// --- main-thread side -----------------------------------------------------------------------

class WorkerHost implements SandboxWorker {
  restarts = 0;
  private worker: Worker | undefined;
  private port: MessagePort | undefined;
  private readonly specs = new Map<string, SandboxPolicySpec>();
  private readonly quarantine = new Map<string, number>();
  private readonly timeouts = new Map<string, number>();
  private readonly pending = new Map<number, { worker: Worker; resolve: (msg: FromWorker) => void }>();
  private seq = 0;
  private chain: Promise<unknown> = Promise.resolve();
  private progress = new Int32Array(new SharedArrayBuffer(16));
  private times = new Float64Array(this.progress.buffer);
  private signal = new Int32Array(new SharedArrayBuffer(4));
  private batch: readonly SandboxCall[] = [];
  private closed = false;
  private readonly timeoutMs: number;
  private readonly quarantineMs: number;
  private readonly strikes: number;
  private readonly historyWaitMs: number;
  private exited: ((code: number) => void) | undefined;
  private readonly sent = new Map<string, SentCache>();

  constructor(options: SandboxWorkerOptions) {
    this.timeoutMs = options.timeoutMs ?? 100;
    this.quarantineMs = options.quarantineMs ?? 60_000;
    this.strikes = Math.max(1, options.strikes ?? 2);
    this.historyWaitMs = options.historyWaitMs ?? 1000;
  }

  /** Starts a worker and loads every known policy into it. */
  async spawn(): Promise<void> {
    this.sent.clear();
    const channel = new MessageChannel();
    Atomics.store(this.progress, PROGRESS_ITEM, -1);
    // The worker's entry point sits beside this file: .ts under tsx, .js from dist.
    const url = new URL(
      import.meta.url.endsWith('.ts') ? './sandbox-worker-thread.ts' : './sandbox-worker-thread.js',
      import.meta.url,
    );
    const data: SandboxWorkerData = {
      luascaleSandboxWorker: true,
      progress: this.progress,
      signal: this.signal,
      port: channel.port2,
      historyWaitMs: this.historyWaitMs,
    };
    // From dist the entry is plain JS. Under tsx (tests, `npm run dev`) a worker does not inherit the
    // loader in Node 20, so a two-line bootstrap registers tsx in the worker and then imports the entry.
    const worker = url.pathname.endsWith('.ts')
      ? new Worker(
          `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((api) => { api.register(); return import(${JSON.stringify(url.href)}); });`,
          { eval: true, workerData: data, transferList: [channel.port2] },
        )
      : new Worker(url, { workerData: data, transferList: [channel.port2] });
    worker.unref();
    this.worker = worker;
    this.port = channel.port1;
    this.port.unref();
    this.port.on('message', (req: HistoryRequest) => this.answerHistory(req));
    worker.on('message', (msg: FromWorker) => {
      const entry = this.pending.get(msg.seq);
      this.pending.delete(msg.seq);
      // An idle worker must not keep the process alive; a busy one must.
      if (this.pending.size === 0) worker.unref();
      entry?.resolve(msg);
    });
    worker.on('error', (err) => {
      if (process.env.LUASCALE_DEBUG_WORKER) console.error(err);
      // A crash of the worker itself: the exit handler fails what was pending.
    });
    worker.on('exit', (code) => {
      if (this.worker === worker) this.worker = undefined;
      for (const [seq, entry] of this.pending) {
        if (entry.worker !== worker) continue;
        this.pending.delete(seq);
        entry.resolve({
          type: 'done',
          seq,
          errors: [
            [
              '*',
              { code: 'LS_ERR_POLICY_RUNTIME', message: `sandbox worker exited (code ${code})`, details: {} },
            ],
          ],
        });
      }
      this.exited?.(code);
    });
    if (this.specs.size > 0) await this.send({ type: 'load', seq: 0, specs: [...this.specs] });
  }

  load(policyId: string, spec: SandboxPolicySpec): Promise<void> {
    return this.serial(async () => {
      const reply = await this.send({ type: 'load', seq: 0, specs: [[policyId, spec]] });
      const failure = reply.errors?.[0]?.[1];
      if (failure) throw new LuascaleError(failure.code, failure.details, { message: failure.message });
      this.specs.set(policyId, spec);
      this.quarantine.delete(policyId);
      this.timeouts.delete(policyId);
    });
  }

  unload(policyId: string): Promise<void> {
    return this.serial(async () => {
      this.specs.delete(policyId);
      this.quarantine.delete(policyId);
      this.timeouts.delete(policyId);
      this.sent.delete(policyId);
      await this.send({ type: 'unload', seq: 0, policyId });
    });
  }

  async evaluate(policyId: string, ctx: PolicyContext): Promise<PolicyOutcome> {
    return (await this.evaluateBatch([{ policyId, ctx }]))[0]!;
  }

  evaluateBatch(calls: readonly SandboxCall[]): Promise<PolicyOutcome[]> {
    return this.serial(() => this.runBatch(calls));
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.chain.catch(() => undefined);
    const worker = this.worker;
    this.worker = undefined;
    this.port?.close();
    if (worker) await worker.terminate();
  }

  /** Runs `calls`, restarting the worker around each call that hangs. */
  private async runBatch(calls: readonly SandboxCall[]): Promise<PolicyOutcome[]> {
    const outcomes: Array<PolicyOutcome | undefined> = new Array(calls.length);
    let todo: number[] = [];
    const now = performance.now();
    for (let i = 0; i < calls.length; i++) {
      const call = calls[i]!;
      const until = this.quarantine.get(call.policyId);
      if (until !== undefined && now < until) {
        outcomes[i] = timeoutOutcome(
          this.nameOf(call.policyId),
          this.timeoutMs,
          `skipped for ${Math.ceil((until - now) / 1000)} s after a wall-clock timeout`,
        );
      } else if (!this.specs.has(call.policyId)) {
        outcomes[i] = notFoundOutcome(call.policyId);
      } else todo.push(i);
    }
    while (todo.length > 0) {
      if (this.closed) {
        for (const i of todo)
          outcomes[i] = failedOutcome('LS_ERR_POLICY_RUNTIME', 'sandbox worker is closed');
        break;
      }
      if (!this.worker) await this.spawn();
      const sub = todo.map((i) => calls[i]!);
      this.batch = sub;
      const msg = encodeCalls(sub, this.sent);
      const hung = await this.sendWithDeadline(msg);
      this.batch = [];
      if (hung.reply) {
        const got = hung.reply.outcomes;
        got?.forEach((out, k) => {
          const policyId = sub[k]!.policyId;
          if (out.ok && out.state) sentCacheOf(this.sent, policyId).stateOut = out.state;
          this.timeouts.delete(policyId);
        });
        todo.forEach((i, k) => {
          outcomes[i] =
            got?.[k] ??
            failedOutcome(
              'LS_ERR_POLICY_RUNTIME',
              hung.reply!.errors?.[0]?.[1].message ?? 'sandbox worker failed',
            );
        });
        break;
      }
      // Item `hung.item` of this round hung: it times out; everything else of the round runs again
      // in the fresh worker (the dead worker's results were never sent, and its VMs are gone).
      const i = todo[hung.item]!;
      const policyId = calls[i]!.policyId;
      outcomes[i] = timeoutOutcome(this.nameOf(policyId), this.timeoutMs, 'the sandbox worker was restarted');
      const strikes = (this.timeouts.get(policyId) ?? 0) + 1;
      this.timeouts.set(policyId, strikes);
      if (strikes >= this.strikes) {
        this.quarantine.set(policyId, performance.now() + this.quarantineMs);
        this.timeouts.delete(policyId);
      }
      this.restarts++;
      todo = todo.filter((j) => j !== i && calls[j]!.policyId !== policyId);
      for (let j = 0; j < calls.length; j++) {
        if (outcomes[j] === undefined && calls[j]!.policyId === policyId) {
          outcomes[j] = timeoutOutcome(
            this.nameOf(policyId),
            this.timeoutMs,
            'the sandbox worker was restarted',
          );
        }
      }
    }
    return outcomes as PolicyOutcome[];
  }

  /** Sends an eval and watches the progress slots; resolves with the reply or the index of the hung item. */
  private sendWithDeadline(msg: ToWorker): Promise<{ reply?: FromWorker; item: number }> {
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      let settled = false;
      const check = () => {
        if (settled) return;
        const item = Atomics.load(this.progress, PROGRESS_ITEM);
        const now = performance.timeOrigin + performance.now();
        if (item >= 0) {
          const elapsed = now - this.times[PROGRESS_TIME]!;
          if (elapsed > this.timeoutMs) {
            settled = true;
            const worker = this.worker;
            this.worker = undefined;
            for (const [seq, entry] of this.pending) if (entry.worker === worker) this.pending.delete(seq);
            void worker?.terminate();
            resolve({ item });
            return;
          }
          timer = setTimeout(check, Math.max(1, this.timeoutMs - elapsed + 1));
        } else {
          timer = setTimeout(check, this.timeoutMs);
        }
      };
      this.send(msg).then((reply) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve({ reply, item: -1 });
      });
      timer = setTimeout(check, this.timeoutMs);
    });
  }

  /** The name errors show for a policy: its chunk name or file, as loadLuaPolicy would. */
  private nameOf(policyId: string): string {
    const spec = this.specs.get(policyId);
    return spec?.chunkName ?? spec?.file ?? policyId;
  }

  private send(msg: ToWorker): Promise<FromWorker> {
    const worker = this.worker;
    const seq = ++this.seq;
    if (!worker) {
      return Promise.resolve({
        type: 'done',
        seq,
        errors: [
          ['*', { code: 'LS_ERR_POLICY_RUNTIME', message: 'sandbox worker is not running', details: {} }],
        ],
      });
    }
    return new Promise((resolve) => {
      this.pending.set(seq, { worker, resolve });
      worker.ref();
      worker.postMessage({ ...msg, seq });
    });
  }

  /** Runs `op` after everything queued before it (one batch in flight: the progress slots are shared). */
  private serial<T>(op: () => Promise<T>): Promise<T> {
    const next = this.chain.then(op, op);
    this.chain = next.catch(() => undefined);
    return next;
  }

  /** Serves a history() call of the worker from the main thread's HistoryReader. */
  private answerHistory(req: HistoryRequest): void {
    if (!this.port) return;
    answerHistory({ port: this.port, signal: this.signal }, req, this.batch[req.item]?.ctx.history);
  }
}

function timeoutOutcome(policyId: string, ms: number, note: string): PolicyOutcome {
  return failedOutcome(
    'LS_ERR_POLICY_TIMEOUT',
    `${formatMessage(ERRORS.LS_ERR_POLICY_TIMEOUT.message, { where: policyId, ms })}; ${note}`,
  );
}
