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
 * History: `ctx.history` is a main-thread object and the policy calls it synchronously, so the
 * worker asks for it over a MessagePort and blocks in `Atomics.wait` until the main thread has
 * posted the answer and set a flag (the main thread is idle, awaiting the batch). Each call is
 * a round trip (~50 µs); policies that never call history() pay nothing.
 *
 * Worker state machine: starting → ready ⇄ busy → (timeout: terminated → starting) … → closed.
 * This file is also the worker's entry point, so it runs under tsx (tests) and from dist alike.
 */
import {
  isMainThread,
  MessageChannel,
  parentPort,
  receiveMessageOnPort,
  Worker,
  workerData,
  type MessagePort,
} from 'node:worker_threads';
import { ERRORS, LuascaleError, formatMessage, type ErrorCode } from '../core/errors.js';
import {
  completeObservation,
  emptyHistory,
  type HistoryReader,
  type Observation,
  type OperationSignals,
  type PolicyContext,
  type PolicyOutcome,
  type Slo,
} from '../policy/policy.js';
import { loadLuaPolicy, type LoadLuaPolicyOptions, type LuaPolicy } from './lua-policy.js';
import { SIGNAL_COUNT, signalsFromValues, writeSignalValues } from '../signals/index.js';

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

/** One call of a batch. */
export interface SandboxCall {
  policyId: string;
  ctx: PolicyContext;
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

// --- protocol -------------------------------------------------------------------------------

/**
 * A batch on the wire: the observations' numbers in one Float64Array (NUMS per call), and per call
 * only the objects that changed since this policy's previous call (params, slo and service by
 * identity; state when it is not the object the worker returned last). Both sides update their
 * per-policy caches in call order, so they agree; a respawn clears both.
 */
interface WireCall {
  policyId: string;
  service?: string;
  params?: Readonly<Record<string, unknown>>;
  slo?: Slo | null;
  state?: Record<string, unknown>;
  operations?: Record<string, OperationSignals>;
  metrics?: Record<string, number>;
  historyStep: number | null;
}
/** Per call: draining, min, max, now, startup_s, fresh, then the catalogue's signals in order. */
const HEAD = 6;
const NUMS = HEAD + SIGNAL_COUNT;
type ToWorker =
  | { type: 'load'; seq: number; specs: Array<[string, SandboxPolicySpec]> }
  | { type: 'unload'; seq: number; policyId: string }
  | { type: 'eval'; seq: number; calls: WireCall[]; numbers: Float64Array };
type FromWorker = {
  type: 'done';
  seq: number;
  outcomes?: PolicyOutcome[];
  errors?: Array<[string, { code: ErrorCode; message: string; details: Record<string, unknown> }]>;
};
interface HistoryRequest {
  id: number;
  item: number;
  metric: string;
  seconds: number;
  now: number;
}

/** Shared progress slots: [0] item index being evaluated (-1 idle); Float64 [1] its start time. */
const PROGRESS_ITEM = 0;
const PROGRESS_TIME = 1;
const SIGNAL = 0;

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
    const url = new URL(import.meta.url);
    const data = {
      luascaleSandboxWorker: true,
      progress: this.progress,
      signal: this.signal,
      port: channel.port2,
      historyWaitMs: this.historyWaitMs,
    };
    // From dist this file is plain JS. Under tsx (tests, `npm run dev`) a worker does not inherit the
    // loader in Node 20, so a two-line bootstrap registers tsx in the worker and then imports us.
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
        outcomes[i] = failed(
          'LS_ERR_POLICY_NOT_FOUND',
          formatMessage(ERRORS.LS_ERR_POLICY_NOT_FOUND.message, { file: call.policyId }),
        );
      } else todo.push(i);
    }
    while (todo.length > 0) {
      if (this.closed) {
        for (const i of todo) outcomes[i] = failed('LS_ERR_POLICY_RUNTIME', 'sandbox worker is closed');
        break;
      }
      if (!this.worker) await this.spawn();
      const sub = todo.map((i) => calls[i]!);
      this.batch = sub;
      const msg = this.encode(sub);
      const hung = await this.sendWithDeadline(msg);
      this.batch = [];
      if (hung.reply) {
        const got = hung.reply.outcomes;
        got?.forEach((out, k) => {
          const policyId = sub[k]!.policyId;
          if (out.ok && out.state) this.sentCache(policyId).stateOut = out.state;
          this.timeouts.delete(policyId);
        });
        todo.forEach((i, k) => {
          outcomes[i] =
            got?.[k] ??
            failed('LS_ERR_POLICY_RUNTIME', hung.reply!.errors?.[0]?.[1].message ?? 'sandbox worker failed');
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

  /** Per-policy record of what the worker already has (see WireCall). */
  private sentCache(policyId: string): SentCache {
    let c = this.sent.get(policyId);
    if (!c) this.sent.set(policyId, (c = {}));
    return c;
  }

  private encode(calls: readonly SandboxCall[]): ToWorker {
    const numbers = new Float64Array(calls.length * NUMS);
    const wire: WireCall[] = [];
    const seen = new Set<string>();
    calls.forEach(({ policyId, ctx }, k) => {
      const o = ctx.observation;
      const at = k * NUMS;
      numbers[at] = o.draining ?? 0;
      numbers[at + 1] = ctx.min;
      numbers[at + 2] = ctx.max;
      numbers[at + 3] = ctx.now;
      numbers[at + 4] = o.startup_s ?? NaN;
      numbers[at + 5] = o.fresh === false ? 0 : 1;
      writeSignalValues(o, numbers, at + HEAD);
      const c = this.sentCache(policyId);
      const call: WireCall = {
        policyId,
        historyStep: ctx.history === emptyHistory || !ctx.history ? null : ctx.history.stepSeconds,
      };
      if (!('service' in c) || c.service !== ctx.service) call.service = c.service = ctx.service;
      if (!('params' in c) || c.params !== ctx.params) call.params = c.params = ctx.params;
      if (!('slo' in c) || c.slo !== o.slo) {
        c.slo = o.slo;
        call.slo = o.slo ?? null;
      }
      // The state the worker returned last is still there, unless this policy ran earlier in this batch.
      if (seen.has(policyId) || c.stateOut === undefined || c.stateOut !== ctx.state) call.state = ctx.state;
      seen.add(policyId);
      if (o.operations && hasKeys(o.operations)) call.operations = o.operations;
      if (o.metrics && hasKeys(o.metrics)) call.metrics = o.metrics;
      wire.push(call);
    });
    return { type: 'eval', seq: 0, calls: wire, numbers };
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
    let values: number[] = [];
    let error: string | undefined;
    try {
      const reader = this.batch[req.item]?.ctx.history ?? emptyHistory;
      values = Array.from(reader.series(req.metric, req.seconds, req.now));
    } catch (err) {
      error = err instanceof Error ? err.message : String(err);
    }
    this.port?.postMessage({ id: req.id, values, error });
    Atomics.store(this.signal, SIGNAL, 1);
    Atomics.notify(this.signal, SIGNAL);
  }
}

interface SentCache {
  service?: string;
  params?: Readonly<Record<string, unknown>>;
  slo?: Slo;
  /** The state object of this policy's last outcome, as the main thread received it. */
  stateOut?: Record<string, unknown>;
}

function hasKeys(o: object): boolean {
  for (const _ in o) return true;
  return false;
}

function failed(code: ErrorCode, error: string): PolicyOutcome {
  return { ok: false, code, error, logs: [], alerts: [] };
}

function timeoutOutcome(policyId: string, ms: number, note: string): PolicyOutcome {
  return failed(
    'LS_ERR_POLICY_TIMEOUT',
    `${formatMessage(ERRORS.LS_ERR_POLICY_TIMEOUT.message, { where: policyId, ms })}; ${note}`,
  );
}

// --- worker side ----------------------------------------------------------------------------

interface WorkerData {
  luascaleSandboxWorker: true;
  progress: Int32Array;
  signal: Int32Array;
  port: MessagePort;
  historyWaitMs: number;
}

function runWorker(data: WorkerData): void {
  const policies = new Map<string, LuaPolicy>();
  const cache = new Map<
    string,
    {
      service: string;
      params: Readonly<Record<string, unknown>>;
      slo: Slo | undefined;
      state: Record<string, unknown>;
    }
  >();
  const times = new Float64Array(data.progress.buffer);
  let historyId = 0;

  /** A HistoryReader that asks the main thread and blocks until it answers. */
  function bridge(item: number, step: number): HistoryReader {
    return {
      stepSeconds: step,
      series(metric, seconds, now) {
        const id = ++historyId;
        Atomics.store(data.signal, SIGNAL, 0);
        data.port.postMessage({ id, item, metric, seconds, now } satisfies HistoryRequest);
        const deadline = Date.now() + data.historyWaitMs;
        for (;;) {
          const left = deadline - Date.now();
          if (left <= 0)
            throw new Error(`history(${metric}): no answer from the main thread in ${data.historyWaitMs} ms`);
          if (Atomics.load(data.signal, SIGNAL) === 0) Atomics.wait(data.signal, SIGNAL, 0, left);
          let reply = receiveMessageOnPort(data.port);
          while (reply && (reply.message as { id: number }).id !== id)
            reply = receiveMessageOnPort(data.port);
          if (reply) {
            const { values, error } = reply.message as { values: number[]; error?: string };
            if (error) throw new Error(`history(${metric}): ${error}`);
            return values;
          }
          // Flag set but the message not visible yet (or a stale answer): poll every millisecond.
          if (Atomics.load(data.signal, SIGNAL) === 1) Atomics.wait(data.signal, SIGNAL, 1, 1);
        }
      },
    };
  }

  // V8 compiles wasm functions lazily: run a small policy first, so the first real call is not
  // charged a compile against its deadline.
  const warm = (async () => {
    const policy = await loadLuaPolicy({
      source: 'local x = 0 for i = 1, 2000 do x = x + i end log(x) return 1',
      chunkName: 'warm-up',
    });
    const ctx: PolicyContext = {
      service: '',
      now: 0,
      min: 0,
      max: 1,
      observation: completeObservation({ cpu: 1.5, replicas: 1, ready: 1 }),
      params: {},
      state: {},
      history: emptyHistory,
    };
    for (let i = 0; i < 200; i++) policy.evaluate(ctx);
    policy.close();
  })().catch(() => undefined);

  parentPort!.on('message', async (msg: ToWorker) => {
    await warm;
    if (msg.type === 'load') {
      const errors: NonNullable<Extract<FromWorker, { type: 'done' }>['errors']> = [];
      for (const [id, spec] of msg.specs) {
        try {
          const policy = await loadLuaPolicy(spec);
          policies.get(id)?.close();
          policies.set(id, policy);
        } catch (err) {
          const e =
            err instanceof LuascaleError
              ? err
              : new LuascaleError('LS_ERR_POLICY_RUNTIME', { where: id, reason: String(err) });
          errors.push([id, { code: e.code, message: e.message, details: e.details }]);
        }
      }
      parentPort!.postMessage({ type: 'done', seq: msg.seq, errors } satisfies FromWorker);
      return;
    }
    if (msg.type === 'unload') {
      policies.get(msg.policyId)?.close();
      policies.delete(msg.policyId);
      cache.delete(msg.policyId);
      parentPort!.postMessage({ type: 'done', seq: msg.seq } satisfies FromWorker);
      return;
    }
    const outcomes: PolicyOutcome[] = [];
    const x = msg.numbers;
    msg.calls.forEach((call, item) => {
      const policy = policies.get(call.policyId);
      if (!policy) {
        outcomes.push(
          failed(
            'LS_ERR_POLICY_NOT_FOUND',
            formatMessage(ERRORS.LS_ERR_POLICY_NOT_FOUND.message, { file: call.policyId }),
          ),
        );
        return;
      }
      let c = cache.get(call.policyId);
      if (!c) cache.set(call.policyId, (c = { service: '', params: {}, slo: undefined, state: {} }));
      if (call.service !== undefined) c.service = call.service;
      if (call.params !== undefined) c.params = call.params;
      if (call.slo !== undefined) c.slo = call.slo ?? undefined;
      if (call.state !== undefined) c.state = call.state;
      const at = item * NUMS;
      const observation: Observation = {
        ...signalsFromValues(x, at + HEAD),
        draining: x[at]!,
        slo: c.slo,
        operations: call.operations ?? {},
        metrics: call.metrics ?? {},
        startup_s: Number.isNaN(x[at + 4]) ? undefined : x[at + 4],
        fresh: x[at + 5] === 1,
      };
      const ctx: PolicyContext = {
        service: c.service,
        now: x[at + 3]!,
        min: x[at + 1]!,
        max: x[at + 2]!,
        observation,
        params: c.params,
        state: c.state,
        history: call.historyStep === null ? emptyHistory : bridge(item, call.historyStep),
      };
      times[PROGRESS_TIME] = performance.timeOrigin + performance.now();
      Atomics.store(data.progress, PROGRESS_ITEM, item);
      const out = policy.evaluate(ctx);
      Atomics.store(data.progress, PROGRESS_ITEM, -1);
      // What the VM keeps is this object: the main thread says "same" by sending no state.
      c.state = out.ok && out.state ? out.state : c.state;
      if (!out.ok) c.state = ctx.state;
      outcomes.push(out);
    });
    parentPort!.postMessage({ type: 'done', seq: msg.seq, outcomes } satisfies FromWorker);
  });
}

if (!isMainThread && (workerData as Partial<WorkerData> | null)?.luascaleSandboxWorker === true) {
  runWorker(workerData as WorkerData);
}
