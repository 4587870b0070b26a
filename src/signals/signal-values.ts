/**
 * Reading and writing catalogue signals on plain objects (an Observation, KeySignals, the
 * sandbox worker's wire array): `cpu` is a field, `latency.p95` the field `p95` of `latency`,
 * `llm.ttft.p50` the field `p50` of `llm.ttft`.
 *
 * The per-tick functions are compiled once from the catalogue with `new Function`, as fastify
 * compiles its serialisers from a schema: a generic loop with computed keys made
 * `completeObservation` 15× slower (2 µs against 0.14 µs per call, megamorphic keyed stores),
 * and the simulator calls it at every decision. The names are checked to be plain identifiers
 * before any code is built from them.
 */
import {
  SIGNALS,
  type DeepPartial,
  type GatewaySignalName,
  type LoadSignalName,
  type SignalName,
  type SignalRecord,
  type TopField,
} from './catalog.js';

const IDENT = /^[a-z_][a-z0-9_]*$/;

/**
 * Signals that may be absent: the per-instance means (`cpu`, `memory`, which the provider reports
 * when it can measure them) and the optional ones (`llm.*`, AI services only).
 */
export type InstanceSignalName = Extract<
  (typeof SIGNALS)[number],
  { aggregate: 'mean' } | { optional: true }
>['name'];
/** Load signals as measured: the gateway's always present, the others only when reported. */
export type MeasuredSignals = Omit<SignalRecord<LoadSignalName>, TopField<InstanceSignalName>> &
  DeepPartial<SignalRecord<InstanceSignalName>>;

/** The parts of each catalogue signal's name, in catalogue order (`['llm', 'ttft', 'p50']`). */
export const SIGNAL_PARTS: ReadonlyArray<readonly string[]> = SIGNALS.map((s) => {
  const parts = s.name.split('.');
  if (parts.length > 3 || !parts.every((p) => IDENT.test(p)))
    throw new Error(
      `signal catalogue: "${s.name}" is not "name", "name.sub" or "name.sub.leaf" (lower-case identifiers)`,
    );
  return parts;
});
/** [field, rest] of each catalogue signal, in catalogue order (rest '' for a flat one, `ttft.p50` for `llm.ttft.p50`). */
export const SIGNAL_PATHS: ReadonlyArray<readonly [string, string]> = SIGNAL_PARTS.map((p) => [
  p[0]!,
  p.slice(1).join('.'),
]);
// A nested group's signals are contiguous at every depth, so each object literal below names a
// field once.
for (let depth = 1; depth <= 2; depth++) {
  const key = (i: number) => SIGNAL_PARTS[i]!.slice(0, depth).join('.');
  SIGNAL_PARTS.forEach((parts, i) => {
    if (parts.length <= depth) return;
    const k = key(i);
    if (
      i > 0 &&
      key(i - 1) !== k &&
      SIGNAL_PARTS.slice(0, i - 1).some((p, j) => p.length > depth && key(j) === k)
    )
      throw new Error(`signal catalogue: the "${k}.*" signals must be next to each other`);
  });
}

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
const MAYBE_ABSENT = new Set(signalIndexes((s) => s.aggregate === 'mean' || ('optional' in s && s.optional)));
// Top-level groups of optional signals (`llm`): left out of an object that has none of them, so
// a service without them shows no empty group.
const OPTIONAL_GROUPS = new Set(
  signalIndexes((s) => 'optional' in s && s.optional && s.name.includes('.')).map(
    (i) => SIGNAL_PARTS[i]![0]!,
  ),
);
const GATEWAY = signalIndexes((s) => s.source === 'gateway');
const HISTORY = signalIndexes((s) => s.history);

/** JS expression reading signal `i` of the object `obj` (undefined when absent). */
function access(obj: string, i: number): string {
  return [obj, ...SIGNAL_PARTS[i]!].join('?.').replace('?.', '.');
}

/**
 * An object literal of the signals `which`, nested fields grouped (at any depth), keys in
 * catalogue order. `skip` leaves out the named top-level fields.
 */
function literal(which: readonly number[], value: (i: number) => string, skip?: ReadonlySet<string>): string {
  function level(items: readonly number[], depth: number): string {
    const out: string[] = [];
    let k = 0;
    while (k < items.length) {
      const parts = SIGNAL_PARTS[items[k]!]!;
      const field = parts[depth]!;
      if (parts.length === depth + 1) {
        out.push(`${field}: ${value(items[k++]!)}`);
        continue;
      }
      const group: number[] = [];
      while (
        k < items.length &&
        SIGNAL_PARTS[items[k]!]![depth] === field &&
        SIGNAL_PARTS[items[k]!]!.length > depth + 1
      )
        group.push(items[k++]!);
      if (depth === 0 && skip?.has(field)) continue;
      out.push(`${field}: ${level(group, depth + 1)}`);
    }
    return `{ ${out.join(', ')} }`;
  }
  return level(which, 0);
}

/**
 * A function body returning the signals `which` of `src` as a new object: an optional group
 * (`llm`) is added, last, only when `src` has it, so a service without it shows no such key.
 */
function build(which: readonly number[], value: (i: number) => string, src: string): string {
  const groups = [...OPTIONAL_GROUPS].filter((g) => which.some((i) => SIGNAL_PARTS[i]![0] === g));
  const lines = [`const r = ${literal(which, value, OPTIONAL_GROUPS)};`];
  for (const g of groups) {
    const inGroup = which.filter((i) => SIGNAL_PARTS[i]![0] === g);
    lines.push(`if (${src}.${g} !== undefined) r.${g} = ${literal(inGroup, value)}.${g};`);
  }
  lines.push('return r;');
  return lines.join('\n');
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
  build(LOAD, (i) => (MAYBE_ABSENT.has(i) ? access('p', i) : `${access('p', i)} ?? 0`), 'p'),
) as (partial: object) => MeasuredSignals;

/**
 * The signals the gateway measures, read from `o` as they are (no defaults), as a new object in
 * catalogue order: what one gateway's figures contribute to a cluster snapshot.
 */
export const gatewaySignalsOf = new Function('o', `return ${literal(GATEWAY, (i) => access('o', i))};`) as (
  o: object,
) => SignalRecord<GatewaySignalName>;

/**
 * Every signal read from `x[at ..]` (catalogue order) as a new object: the inverse of
 * writeSignalValues. An optional group (`llm`) whose values are all NaN is left out.
 */
export const signalsFromValues = (() => {
  const value = (i: number) =>
    MAYBE_ABSENT.has(i) ? `(x[at + ${i}] === x[at + ${i}] ? x[at + ${i}] : undefined)` : `x[at + ${i}]`;
  const lines = [`const r = ${literal(ALL, value, OPTIONAL_GROUPS)};`];
  for (const g of OPTIONAL_GROUPS) {
    const inGroup = ALL.filter((i) => SIGNAL_PARTS[i]![0] === g);
    const any = inGroup.map((i) => `x[at + ${i}] === x[at + ${i}]`).join(' || ');
    lines.push(`if (${any}) r.${g} = ${literal(inGroup, value)}.${g};`);
  }
  lines.push('return r;');
  return new Function('x', 'at', lines.join('\n')) as (
    x: ArrayLike<number>,
    at: number,
  ) => SignalRecord<SignalName>;
})();

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
