/**
 * The observation a policy sees, as a JSON Schema derived from the signal catalogue: what
 * `luascale eval --input` (and each line of `--steps`) accepts, published as
 * schema/observation.schema.json and documented key by key in docs/eval-input.md (both generated).
 * `validateObservationInput` checks an input against it: unknown keys (with "did you mean"),
 * wrong types and counts that cannot all be true are refused instead of being read as 0.
 */
import { LuascaleError } from '../core/errors.js';
import { SIGNALS, type SignalSpec } from '../signals/index.js';

/** The subset of JSON Schema this module writes and checks. */
export interface KeySchema {
  type: 'number' | 'integer' | 'boolean' | 'string' | 'object';
  description: string;
  minimum?: number;
  maximum?: number;
  properties?: Record<string, KeySchema>;
  /** false: no other keys; a schema: every other key's value. */
  additionalProperties?: boolean | KeySchema;
}

function signalSchema(s: SignalSpec): KeySchema {
  const integer = s.kind === 'fleet';
  return {
    type: integer ? 'integer' : 'number',
    description: `${s.meaning} (${s.unit}); ctx.${s.name}`,
    minimum: 0,
    ...(s.unit === '0..1' ? { maximum: 1 } : {}),
  };
}

/** The catalogue's signals as properties: `a.b` is a property `b` of an object `a`, `a.b.c` one level deeper. */
function signalProperties(filter: (s: SignalSpec) => boolean): Record<string, KeySchema> {
  const out: Record<string, KeySchema> = {};
  for (const s of SIGNALS as readonly SignalSpec[]) {
    if (!filter(s)) continue;
    const parts = s.name.split('.');
    let props = out;
    for (let i = 0; i < parts.length - 1; i++) {
      const path = parts.slice(0, i + 1).join('.');
      const group = (props[parts[i]!] ??= {
        type: 'object',
        description: `${path} signals; ctx.${path}`,
        properties: {},
        additionalProperties: false,
      });
      props = group.properties!;
    }
    props[parts[parts.length - 1]!] = signalSchema(s);
  }
  return out;
}

const SLO: KeySchema = {
  type: 'object',
  description: 'Service-level objectives (config `scaling.slo` or OpenAPI); ctx.slo',
  additionalProperties: false,
  properties: {
    latency_p95_ms: { type: 'number', minimum: 0, description: 'p95 latency objective, ms' },
    latency_p99_ms: { type: 'number', minimum: 0, description: 'p99 latency objective, ms' },
    ttft_p95_ms: { type: 'number', minimum: 0, description: 'p95 time-to-first-token objective, ms' },
    error_rate: {
      type: 'number',
      minimum: 0,
      maximum: 1,
      description: 'highest acceptable error rate, 0..1',
    },
    availability: { type: 'number', minimum: 0, maximum: 1, description: 'availability objective, 0..1' },
  },
};

/** The observation's keys: the catalogue's signals, then what the controller adds. */
export const OBSERVATION_SCHEMA: KeySchema = {
  type: 'object',
  description: 'One observation of a service, as a policy sees it',
  additionalProperties: false,
  properties: {
    ...signalProperties(() => true),
    draining: {
      type: 'integer',
      minimum: 0,
      description: 'Instances being drained: capacity that is going (get_metric("draining"))',
    },
    slo: SLO,
    operations: {
      type: 'object',
      description: 'Per OpenAPI operationId: the load signals and slo; ctx.operations[id]',
      additionalProperties: {
        type: 'object',
        description: 'One operation',
        additionalProperties: false,
        properties: { ...signalProperties((s) => s.kind === 'load'), slo: SLO },
      },
    },
    metrics: {
      type: 'object',
      description: 'Custom metrics by name (config `metrics`); get_metric("name")',
      additionalProperties: { type: 'number', description: 'a custom metric' },
    },
    startup_s: {
      type: 'number',
      minimum: 0,
      description: 'Seconds from launch to ready, as measured or configured (get_metric("startup_s"))',
    },
    fresh: {
      type: 'boolean',
      description:
        'false when the signals are missing or stale: the decision is NoData, the policy is not called',
    },
  },
};

/** What `eval` takes besides the observation. */
export const EVAL_INPUT_SCHEMA: KeySchema = {
  ...OBSERVATION_SCHEMA,
  description: 'The input of `luascale eval --input` and of each line of `--steps`',
  properties: {
    ...OBSERVATION_SCHEMA.properties,
    min: { type: 'integer', minimum: 0, description: 'ctx.min (default: the config default, 1)' },
    max: { type: 'integer', minimum: 1, description: 'ctx.max (default: the config default, 10)' },
    params: {
      type: 'object',
      description: 'ctx.params (a built-in: its params)',
      additionalProperties: true,
    },
    state: {
      type: 'object',
      description: 'ctx.state before the call (with --steps: the first call only; later calls carry it)',
      additionalProperties: true,
    },
    now: {
      type: 'number',
      minimum: 0,
      description: 'ctx.now, epoch ms (default: the wall clock; with --steps: 1 s after the previous line)',
    },
    service: { type: 'string', description: 'ctx.service (default "eval")' },
  },
};

/** The published JSON Schema document (schema/observation.schema.json). */
export function observationJsonSchema(): Record<string, unknown> {
  const convert = (s: KeySchema): Record<string, unknown> => {
    const out: Record<string, unknown> = { type: s.type, description: s.description };
    if (s.minimum !== undefined) out.minimum = s.minimum;
    if (s.maximum !== undefined) out.maximum = s.maximum;
    if (s.properties)
      out.properties = Object.fromEntries(Object.entries(s.properties).map(([k, v]) => [k, convert(v)]));
    if (s.additionalProperties !== undefined)
      out.additionalProperties =
        typeof s.additionalProperties === 'boolean'
          ? s.additionalProperties
          : convert(s.additionalProperties);
    return out;
  };
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: 'https://luascale.dev/schema/observation.schema.json',
    title: 'luascale eval input',
    ...convert(EVAL_INPUT_SCHEMA),
  };
}

/** Every key as `[path, schema]`, depth first (docs/eval-input.md). */
export function schemaKeys(s: KeySchema = EVAL_INPUT_SCHEMA, prefix = ''): Array<[string, KeySchema]> {
  const out: Array<[string, KeySchema]> = [];
  for (const [k, v] of Object.entries(s.properties ?? {})) {
    const path = prefix ? `${prefix}.${k}` : k;
    out.push([path, v]);
    if (v.properties) out.push(...schemaKeys(v, path));
    if (typeof v.additionalProperties === 'object' && v.additionalProperties.type === 'object')
      out.push(...schemaKeys(v.additionalProperties, `${path}.<name>`));
  }
  return out;
}

/**
 * Checks `input` against EVAL_INPUT_SCHEMA and the counts against each other; throws
 * LS_ERR_CLI_INPUT naming the key (`--input cpu_usage: unknown key; did you mean "cpu"?`).
 */
export function validateObservationInput(input: unknown, where: string): void {
  const sep = where.startsWith('-') ? ' ' : '/';
  const fail = (path: string, reason: string): never => {
    throw new LuascaleError('LS_ERR_CLI_INPUT', { where: path ? `${where}${sep}${path}` : where, reason });
  };
  walk(EVAL_INPUT_SCHEMA, input, '', fail);
  const o = input as Record<string, number | undefined>;
  const { replicas, ready, starting, min, max } = o;
  if (
    ready !== undefined &&
    starting !== undefined &&
    replicas !== undefined &&
    ready + starting !== replicas
  )
    fail('replicas', `must equal ready + starting (${ready} + ${starting}), got ${replicas}`);
  if (ready !== undefined && replicas !== undefined && ready > replicas)
    fail(
      'ready',
      `must be <= replicas (${replicas}; replicas counts ready and starting instances), got ${ready}`,
    );
  if (starting !== undefined && replicas !== undefined && starting > replicas)
    fail('starting', `must be <= replicas (${replicas}), got ${starting}`);
  if (min !== undefined && max !== undefined && min > max) fail('min', `must be <= max (${max}), got ${min}`);
}

function walk(s: KeySchema, v: unknown, path: string, fail: (path: string, reason: string) => never): void {
  const got = () => `got ${JSON.stringify(v)}`;
  switch (s.type) {
    case 'number':
    case 'integer':
      if (typeof v !== 'number' || !Number.isFinite(v))
        fail(
          path,
          `must be a number, ${got()}${typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v)) ? ' (a string: drop the quotes)' : ''}`,
        );
      if (s.type === 'integer' && !(Number.isInteger(v) && (v as number) >= (s.minimum ?? -Infinity)))
        fail(path, `must be a whole number${s.minimum === undefined ? '' : ` >= ${s.minimum}`}, ${got()}`);
      if (s.minimum !== undefined && (v as number) < s.minimum)
        fail(path, `must be >= ${s.minimum}, ${got()}`);
      if (s.maximum !== undefined && (v as number) > s.maximum)
        fail(path, `must be <= ${s.maximum}, ${got()}`);
      return;
    case 'boolean':
    case 'string':
      if (typeof v !== s.type) fail(path, `must be a ${s.type}, ${got()}`);
      return;
    case 'object': {
      if (v === null || typeof v !== 'object' || Array.isArray(v))
        fail(
          path,
          path ? `must be an object, ${got()}` : 'must be a JSON object such as {"cpu":85,"replicas":2}',
        );
      for (const [k, child] of Object.entries(v as Record<string, unknown>)) {
        const childPath = path ? `${path}.${k}` : k;
        const known = s.properties?.[k];
        if (known) walk(known, child, childPath, fail);
        else if (typeof s.additionalProperties === 'object')
          walk(s.additionalProperties, child, childPath, fail);
        else if (s.additionalProperties !== true) fail(childPath, unknownKey(k, s, path));
      }
    }
  }
}

/** "unknown key; did you mean ...?" with the nearest known key, and the known keys. */
function unknownKey(key: string, s: KeySchema, path: string): string {
  const known = Object.keys(s.properties ?? {});
  const hint = didYouMean(key, path ? known : [...known, ...nestedNames(s)]);
  const nested = hint?.includes('.')
    ? ` (${JSON.stringify({ [hint.split('.')[0]!]: { [hint.split('.')[1]!]: 0 } })})`
    : '';
  return `unknown key${hint ? `; did you mean "${hint}"${nested}?` : ''} (known: ${known.join(', ')})`;
}

/** `latency.p95`-style names of the nested keys, so `latency_p95` or `p95` find them. */
function nestedNames(s: KeySchema): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(s.properties ?? {}))
    if (v.properties && k !== 'slo') for (const leaf of Object.keys(v.properties)) out.push(`${k}.${leaf}`);
  return out;
}

/** The nearest candidate: same letters up to `_`/`.`/case, a containing name, or edit distance ≤ 2. */
export function didYouMean(key: string, candidates: readonly string[]): string | undefined {
  const norm = (x: string) => x.toLowerCase().replace(/[^a-z0-9]/g, '');
  const k = norm(key);
  const exact = candidates.find((c) => norm(c) === k);
  if (exact) return exact;
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = distance(k, norm(c));
    if (d < bestD) [best, bestD] = [c, d];
  }
  if (best !== undefined && bestD <= Math.max(1, Math.min(2, Math.floor(k.length / 3)))) return best;
  // cpu_usage → cpu, p95 → latency.p95, request_rps → rps: the longest candidate inside the key, or the key inside one
  const inside = candidates
    .filter((c) => norm(c).length >= 3 && (k.includes(norm(c)) || norm(c).endsWith(k)))
    .sort((a, b) => norm(b).length - norm(a).length);
  return inside[0];
}

/** Edit distance with adjacent transpositions (optimal string alignment): "rsp" is 1 from "rps". */
function distance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i]);
  for (let j = 0; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  return d[a.length]![b.length]!;
}
