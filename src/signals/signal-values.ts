/**
 * Reading and writing catalogue signals on plain objects (an Observation, KeySignals, the
 * sandbox worker's wire array): `cpu` is a field, `latency.p95` the field `p95` of `latency`.
 *
 * The per-tick functions are compiled once from the catalogue with `new Function`, as fastify
 * compiles its serialisers from a schema: a generic loop with computed keys made
 * `completeObservation` 15× slower (2 µs against 0.14 µs per call, megamorphic keyed stores),
 * and the simulator calls it at every decision. The names are checked to be plain identifiers
 * before any code is built from them.
 */
import {
  SIGNALS,
  type GatewaySignalName,
  type LoadSignalName,
  type SignalName,
  type SignalRecord,
} from './catalog.js';

const IDENT = /^[a-z_][a-z0-9_]*$/;

/** Per-instance means (`cpu`, `memory`): the provider reports them when it can measure them. */
export type InstanceSignalName = Extract<(typeof SIGNALS)[number], { aggregate: 'mean' }>['name'];
/** Load signals as measured: the gateway's always present, the per-instance means only when reported. */
export type MeasuredSignals = Omit<SignalRecord<LoadSignalName>, InstanceSignalName> &
  Partial<SignalRecord<InstanceSignalName>>;

/** [field, subfield] of each catalogue signal, in catalogue order (subfield '' for a flat one). */
export const SIGNAL_PATHS: ReadonlyArray<readonly [string, string]> = SIGNALS.map((s) => {
  const parts = s.name.split('.');
  if (parts.length > 2 || !parts.every((p) => IDENT.test(p)))
    throw new Error(`signal catalogue: "${s.name}" is not "name" or "name.sub" (lower-case identifiers)`);
  return [parts[0]!, parts[1] ?? ''];
});
// A nested field's signals are contiguous, so each object literal below names a field once.
SIGNAL_PATHS.forEach(([field], i) => {
  if (i > 0 && SIGNAL_PATHS[i - 1]![0] !== field && SIGNAL_PATHS.slice(0, i - 1).some(([f]) => f === field))
    throw new Error(`signal catalogue: the "${field}.*" signals must be next to each other`);
});

const INDEX = new Map<string, number>(SIGNALS.map((s, i) => [s.name, i]));

/** Catalogue position of `name`, or -1. */
export function signalIndex(name: string): number {
  return INDEX.get(name) ?? -1;
}

/** Catalogue indexes of the signals matching `test`. */
export function signalIndexes(test: (s: (typeof SIGNALS)[number]) => boolean): number[] {
  const out: number[] = [];
  SIGNALS.forEach((s, i) => test(s) && out.push(i));
  return out;
}

const ALL = SIGNALS.map((_, i) => i);
const LOAD = signalIndexes((s) => s.kind === 'load');
// Per-instance means (cpu, memory) come from the provider, and a provider may measure none: such
// a signal stays absent (undefined; NaN on a wire array; nil in Lua), never 0, which would read
// as "idle" and scale down (issue 16 item 13).
const MAYBE_ABSENT = new Set(signalIndexes((s) => s.aggregate === 'mean'));
const GATEWAY = signalIndexes((s) => s.source === 'gateway');
const HISTORY = signalIndexes((s) => s.history);

/** JS expression reading signal `i` of the object `obj` (undefined when absent). */
function access(obj: string, i: number): string {
  const [field, sub] = SIGNAL_PATHS[i]!;
  return sub === '' ? `${obj}.${field}` : `${obj}.${field}?.${sub}`;
}

/** An object literal of the signals `which`, nested fields grouped, keys in catalogue order. */
function literal(which: readonly number[], value: (i: number) => string): string {
  const out: string[] = [];
  let k = 0;
  while (k < which.length) {
    const [field, sub] = SIGNAL_PATHS[which[k]!]!;
    if (sub === '') {
      out.push(`${field}: ${value(which[k++]!)}`);
      continue;
    }
    const inner: string[] = [];
    while (k < which.length && SIGNAL_PATHS[which[k]!]![0] === field) {
      inner.push(`${SIGNAL_PATHS[which[k]!]![1]}: ${value(which[k++]!)}`);
    }
    out.push(`${field}: { ${inner.join(', ')} }`);
  }
  return `{ ${out.join(', ')} }`;
}

/** Readers of each signal by catalogue index: the value, or undefined when absent. */
const GETTERS = ALL.map((i) => new Function('o', `return ${access('o', i)};`) as (o: object) => unknown);

/** Value of catalogue signal number `i` in `o`, or undefined when absent or not a number. */
export function signalAt(o: object, i: number): number | undefined {
  const v = GETTERS[i]!(o);
  return typeof v === 'number' ? v : undefined;
}

/** Value of the signal `name` (`cpu`, `latency.p95`, ...) in `o`, or undefined. */
export function readSignal(o: object, name: string): number | undefined {
  const i = INDEX.get(name);
  return i === undefined ? undefined : signalAt(o, i);
}

/**
 * The load signals of `partial` as a new object, in catalogue order: absent gateway signals 0
 * (`?? 0`), absent per-instance means (cpu, memory) left undefined.
 */
export const loadSignalsOf = new Function(
  'p',
  `return ${literal(LOAD, (i) => (MAYBE_ABSENT.has(i) ? access('p', i) : `${access('p', i)} ?? 0`))};`,
) as (partial: object) => MeasuredSignals;

/**
 * The signals the gateway measures, read from `o` as they are (no defaults), as a new object in
 * catalogue order: what one gateway's figures contribute to a cluster snapshot.
 */
export const gatewaySignalsOf = new Function('o', `return ${literal(GATEWAY, (i) => access('o', i))};`) as (
  o: object,
) => SignalRecord<GatewaySignalName>;

/** Every signal read from `x[at ..]` (catalogue order) as a new object: the inverse of writeSignalValues. */
export const signalsFromValues = new Function(
  'x',
  'at',
  `return ${literal(ALL, (i) => (MAYBE_ABSENT.has(i) ? `(x[at + ${i}] === x[at + ${i}] ? x[at + ${i}] : undefined)` : `x[at + ${i}]`))};`,
) as (x: ArrayLike<number>, at: number) => SignalRecord<SignalName>;

/**
 * Writes every signal of `o` into `out` from `at`, in catalogue order (absent ones as 0; absent
 * per-instance means as NaN, which Lua receives as nil).
 */
export const writeSignalValues = new Function(
  'o',
  'out',
  'at',
  ALL.map((i) => `out[at + ${i}] = ${access('o', i)} ?? ${MAYBE_ABSENT.has(i) ? 'NaN' : '0'};`).join('\n'),
) as (o: object, out: { [i: number]: number }, at: number) => void;

/** Writes the history signals of `o` into `out` in HISTORY_SIGNALS order (absent ones as 0): one history row. */
export const writeHistoryValues = new Function(
  'o',
  'out',
  HISTORY.map((i, j) => `out[${j}] = ${access('o', i)} ?? 0;`).join('\n'),
) as (o: object, out: { [i: number]: number }) => void;

/**
 * Every signal of `o` by its catalogue name (`"latency.p95"`), as read (undefined when absent):
 * what alert rules and the history store key on.
 */
export const flatSignals = new Function(
  'o',
  `return { ${ALL.map((i) => `${JSON.stringify(SIGNALS[i]!.name)}: ${access('o', i)}`).join(', ')} };`,
) as (o: object) => Record<SignalName, number>;
