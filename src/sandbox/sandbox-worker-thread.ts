/**
 * The sandbox worker thread's side (started by sandbox-worker.ts): loads Lua policies, evaluates
 * batches, and before each item writes the item's index and start time into the shared progress
 * slots, which the main thread watches against its deadline. Importing this file in a worker
 * started with `luascaleSandboxWorker` in its workerData runs it; elsewhere it does nothing.
 */
import { isMainThread, parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { LuascaleError } from '../core/errors.js';
import {
  completeObservation,
  emptyHistory,
  type PolicyContext,
  type PolicyOutcome,
} from '../policy/policy.js';
import { historyBridge } from './history-bridge.js';
import { loadLuaPolicy, type LuaPolicy } from './lua-policy.js';
import {
  PROGRESS_ITEM,
  PROGRESS_TIME,
  decodeCall,
  notFoundOutcome,
  type DecodeScope,
  type FromWorker,
  type ToWorker,
  type WireError,
} from './worker-protocol.js';

/** What the main thread hands the worker at start. */
export interface SandboxWorkerData {
  luascaleSandboxWorker: true;
  progress: Int32Array;
  signal: Int32Array;
  port: MessagePort;
  historyWaitMs: number;
}

/** What the worker keeps between messages. */
interface WorkerState {
  policies: Map<string, LuaPolicy>;
  scope: DecodeScope;
  /** Shared with the main thread: Int32 [0] the item being evaluated, Float64 [1] its start time. */
  progress: Int32Array;
  times: Float64Array;
}

/** Runs the worker's side: answers load, unload and eval messages on parentPort. */
export function runSandboxWorker(data: SandboxWorkerData): void {
  const policies = new Map<string, LuaPolicy>();
  const scope: DecodeScope = {
    received: new Map(),
    history: (item, step) => historyBridge(data, item, step),
  };
  const worker: WorkerState = {
    policies,
    scope,
    progress: data.progress,
    times: new Float64Array(data.progress.buffer),
  };
  const warm = warmUp();
  parentPort!.on('message', async (msg: ToWorker) => {
    await warm;
    if (msg.type === 'load') {
      const errors = await loadPolicies(policies, msg.specs);
      parentPort!.postMessage({ type: 'done', seq: msg.seq, errors } satisfies FromWorker);
    } else if (msg.type === 'unload') {
      policies.get(msg.policyId)?.close();
      policies.delete(msg.policyId);
      scope.received.delete(msg.policyId);
      parentPort!.postMessage({ type: 'done', seq: msg.seq } satisfies FromWorker);
    } else {
      const outcomes = evaluateBatch(msg, worker);
      parentPort!.postMessage({ type: 'done', seq: msg.seq, outcomes } satisfies FromWorker);
    }
  });
}

/**
 * V8 compiles wasm functions lazily: run a small policy first, so the first real call is not
 * charged a compile against its deadline.
 */
async function warmUp(): Promise<void> {
  try {
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
  } catch {
    // A failed warm-up only costs the first real call its compile time.
  }
}

/** Loads (or replaces) each policy; returns the failures as they cross the thread boundary. */
async function loadPolicies(
  policies: Map<string, LuaPolicy>,
  specs: Extract<ToWorker, { type: 'load' }>['specs'],
): Promise<WireError[]> {
  const errors: WireError[] = [];
  for (const [id, spec] of specs) {
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
  return errors;
}

/** Evaluates a batch in order, marking each item in the progress slots while it runs. */
function evaluateBatch(msg: Extract<ToWorker, { type: 'eval' }>, worker: WorkerState): PolicyOutcome[] {
  const { policies, scope, progress, times } = worker;
  const outcomes: PolicyOutcome[] = [];
  msg.calls.forEach((call, item) => {
    const policy = policies.get(call.policyId);
    if (!policy) {
      outcomes.push(notFoundOutcome(call.policyId));
      return;
    }
    const ctx = decodeCall(call, msg.numbers, item, scope);
    times[PROGRESS_TIME] = performance.timeOrigin + performance.now();
    Atomics.store(progress, PROGRESS_ITEM, item);
    const out = policy.evaluate(ctx);
    Atomics.store(progress, PROGRESS_ITEM, -1);
    // What the VM keeps is this object: the main thread says "same" by sending no state.
    const c = scope.received.get(call.policyId)!;
    c.state = out.ok && out.state ? out.state : c.state;
    if (!out.ok) c.state = ctx.state;
    outcomes.push(out);
  });
  return outcomes;
}

if (!isMainThread && (workerData as Partial<SandboxWorkerData> | null)?.luascaleSandboxWorker === true) {
  runSandboxWorker(workerData as SandboxWorkerData);
}
