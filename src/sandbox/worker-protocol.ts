/**
 * What the main thread and the sandbox worker send each other. A batch on the wire is the
 * observations' numbers in one Float64Array (NUMS per call), and per call only the objects that
 * changed since this policy's previous call (params, slo and service by identity; state when it
 * is not the object the worker returned last). Both sides update their per-policy caches in call
 * order, so they agree; a respawn clears both.
 */
import { ERRORS, formatMessage, type ErrorCode } from '../core/errors.js';
import {
  emptyHistory,
  type HistoryReader,
  type Observation,
  type OperationSignals,
  type PolicyContext,
  type PolicyOutcome,
  type Slo,
} from '../policy/policy.js';
import { SIGNAL_COUNT, signalsFromValues, writeSignalValues } from '../signals/index.js';
import type { LoadLuaPolicyOptions } from './lua-policy.js';

/** One call of a batch. */
export interface SandboxCall {
  policyId: string;
  ctx: PolicyContext;
}

/** One call on the wire: what changed since this policy's previous call. */
export interface WireCall {
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

export type ToWorker =
  | { type: 'load'; seq: number; specs: Array<[string, LoadLuaPolicyOptions]> }
  | { type: 'unload'; seq: number; policyId: string }
  | { type: 'eval'; seq: number; calls: WireCall[]; numbers: Float64Array };

/** A load failure (or a worker failure, policy id '*') as it crosses the thread boundary. */
export type WireError = [string, { code: ErrorCode; message: string; details: Record<string, unknown> }];

export type FromWorker = {
  type: 'done';
  seq: number;
  outcomes?: PolicyOutcome[];
  errors?: WireError[];
};

/** Shared progress slots: [0] item index being evaluated (-1 idle); Float64 [1] its start time. */
export const PROGRESS_ITEM = 0;
export const PROGRESS_TIME = 1;

/** Main-thread side: per policy, what the worker already has (see WireCall). */
export interface SentCache {
  service?: string;
  params?: Readonly<Record<string, unknown>>;
  slo?: Slo;
  /** The state object of this policy's last outcome, as the main thread received it. */
  stateOut?: Record<string, unknown>;
}

/** The policy's entry of `sent`, created empty on first use. */
export function sentCacheOf(sent: Map<string, SentCache>, policyId: string): SentCache {
  let c = sent.get(policyId);
  if (!c) sent.set(policyId, (c = {}));
  return c;
}

/** Encodes a batch, updating `sent` in call order. */
export function encodeCalls(calls: readonly SandboxCall[], sent: Map<string, SentCache>): ToWorker {
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
    const c = sentCacheOf(sent, policyId);
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

/** Worker side: per policy, the inputs the main thread sends only when they change. */
export interface ReceivedInputs {
  service: string;
  params: Readonly<Record<string, unknown>>;
  slo: Slo | undefined;
  /** The state of this policy's last outcome (what the main thread calls "same" by sending none). */
  state: Record<string, unknown>;
}

/** What decoding needs besides the call: the worker's per-policy inputs and its history readers. */
export interface DecodeScope {
  received: Map<string, ReceivedInputs>;
  /** The history reader of item `item` of the batch (a bridge to the main thread). */
  history(item: number, stepSeconds: number): HistoryReader;
}

/**
 * Decodes item `item` of a batch into the PolicyContext the main thread evaluated, updating the
 * policy's entry of `scope.received` first.
 */
export function decodeCall(
  call: WireCall,
  numbers: Float64Array,
  item: number,
  scope: DecodeScope,
): PolicyContext {
  let c = scope.received.get(call.policyId);
  if (!c) scope.received.set(call.policyId, (c = { service: '', params: {}, slo: undefined, state: {} }));
  if (call.service !== undefined) c.service = call.service;
  if (call.params !== undefined) c.params = call.params;
  if (call.slo !== undefined) c.slo = call.slo ?? undefined;
  if (call.state !== undefined) c.state = call.state;
  const x = numbers;
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
  return {
    service: c.service,
    now: x[at + 3]!,
    min: x[at + 1]!,
    max: x[at + 2]!,
    observation,
    params: c.params,
    state: c.state,
    history: call.historyStep === null ? emptyHistory : scope.history(item, call.historyStep),
  };
}

/** A failed outcome with no logs. */
export function failedOutcome(code: ErrorCode, error: string): PolicyOutcome {
  return { ok: false, code, error, logs: [], alerts: [] };
}

/** The outcome of a call to a policy id the worker does not have. */
export function notFoundOutcome(policyId: string): PolicyOutcome {
  return failedOutcome(
    'LS_ERR_POLICY_NOT_FOUND',
    formatMessage(ERRORS.LS_ERR_POLICY_NOT_FOUND.message, { file: policyId }),
  );
}

function hasKeys(o: object): boolean {
  for (const _ in o) return true;
  return false;
}
