/**
 * Loading goes: read → parse YAML (with line positions and `<<` merge keys) → interpolate `${VAR}` /
 * `${VAR:-default}` → drop `x-*` extension keys → validate, collecting ALL errors → apply defaults →
 * cross-field checks → freeze.
 * Every issue names the file, the YAML path and the line:
 *   luascale.yaml:14 services.api.scaling.max: must be >= min (2), got 1
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { ErrorObject, ValidateFunction } from 'ajv';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, visit, type Document, type Node } from 'yaml';
import { ERRORS, LuascaleError, formatMessage } from '../core/errors.js';
import { ConfigInputSchema, ConfigSchema, EXTENSION_KEY, type Config } from './schema.js';
import { applyDefaults, deepFreeze } from './defaults.js';
import { validate as validateConfigInput } from './config-validator.generated.js';
import { CIDR_RULE, parseCidr } from '../core/cidr.js';

/** One problem in a config file. */
export interface ConfigIssue {
  file: string;
  line: number;
  /** Dotted YAML path, e.g. `services.api.scaling.max`. */
  path: string;
  message: string;
}

/** A loaded, validated, defaulted and frozen configuration. */
export interface LoadedConfig {
  config: Config;
  file: string;
  /** Directory that relative paths in the config are resolved against. */
  baseDir: string;
}

/**
 * The config validator, precompiled from the schema by `npm run gen` (ajv's standalone code, with the
 * `x-duration-range` keyword calling duration-range.ts): loading a config compiles nothing at run time.
 * Compiling it at run time cost every command that read luascale.yaml ~220 ms of CPU; the generated
 * module costs ~30 ms to import and ~30 ms on its first call (V8 compiling its one large function).
 */
const configValidate = validateConfigInput as unknown as ValidateFunction;

/** Reads and validates a config file; throws a LuascaleError listing every issue. */
export function loadConfig(file: string, env: NodeJS.ProcessEnv = process.env): LoadedConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new LuascaleError('LS_ERR_CONFIG_READ', {
      file,
      reason: (err as NodeJS.ErrnoException).code ?? String(err),
    });
  }
  return { config: parseConfig(text, file, env), file, baseDir: dirname(resolve(file)) };
}

/** Parses config text (named `file` in messages). */
export function parseConfig(text: string, file: string, env: NodeJS.ProcessEnv = process.env): Config {
  const lineCounter = new LineCounter();
  // `merge`: `<<: *base` merge keys, as docker-compose files use them with `x-*` anchors.
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true, merge: true });
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    const line = lineCounter.linePos(e.pos[0]).line;
    throw new LuascaleError('LS_ERR_CONFIG_PARSE', { file, line, reason: e.message.split('\n')[0] });
  }
  const issues: ConfigIssue[] = [];
  const lineOf = (node: Node | null | undefined) =>
    node?.range ? lineCounter.linePos(node.range[0]).line : 1;

  const unset: Array<{ file: string; line: number; path: string; name: string }> = [];
  interpolateEnv(doc, env, (node, path, name) => unset.push({ file, line: lineOf(node), path, name }));
  if (unset.length > 0) throw envError(unset);
  let raw: unknown;
  try {
    raw = doc.toJS() ?? {};
  } catch (err) {
    // Unresolved aliases and alias bombs ("Excessive alias count") surface only when converting.
    throw new LuascaleError('LS_ERR_CONFIG_PARSE', {
      file,
      line: 1,
      reason: (err as Error).message.split('\n')[0],
    });
  }
  try {
    raw = normalise(ConfigInputSchema, raw);
  } catch (err) {
    throw new LuascaleError('LS_ERR_CONFIG_PARSE', { file, line: 1, reason: (err as Error).message });
  }
  if (issues.length === 0 && !configValidate(raw)) {
    for (const err of simplifyErrors(configValidate.errors ?? [], raw))
      issues.push(toIssue(err, { doc, raw, file, lineOf }));
  }
  if (issues.length > 0) throw configError(file, issues);

  const config = applyDefaults(ConfigSchema, raw) as Config;
  for (const issue of crossFieldChecks(config)) {
    issues.push({
      file,
      line: lineOf(doc.getIn(issue.path, true) as Node),
      path: issue.path.join('.'),
      message: issue.message,
    });
  }
  if (issues.length > 0) throw configError(file, issues);
  return deepFreeze(config);
}

/** The LS_ERR_CONFIG_INVALID error for `issues`: one `file:line path: message` line each. */
export function configError(file: string, issues: ConfigIssue[]): LuascaleError {
  issues.sort((a, b) => a.line - b.line);
  const lines = issues.map((i) => `${i.file}:${i.line} ${i.path || '(root)'}: ${i.message}`);
  const err = new LuascaleError(
    'LS_ERR_CONFIG_INVALID',
    { file, count: issues.length, issues },
    { message: lines.join('\n') },
  );
  return err;
}

/**
 * LS_ERR_CONFIG_ENV for the `${VAR}` references without a value or a default: one line each, and
 * the first one's file, line, path and name as the error's parameters.
 */
function envError(unset: Array<{ file: string; line: number; path: string; name: string }>): LuascaleError {
  const lines = unset.map(
    (u) => `${formatMessage(ERRORS.LS_ERR_CONFIG_ENV.message, u)} (use \${${u.name}:-default})`,
  );
  const issues: ConfigIssue[] = unset.map((u, i) => ({
    file: u.file,
    line: u.line,
    path: u.path,
    message: lines[i]!.slice(`${u.file}:${u.line} ${u.path}: `.length),
  }));
  return new LuascaleError('LS_ERR_CONFIG_ENV', { ...unset[0], issues }, { message: lines.join('\n') });
}

/** The value of a scalar that was one whole `${VAR}` reference, typed by {@link normalise}. */
class EnvValue {
  constructor(readonly text: string) {}
}

/**
 * `${VAR}`, `${VAR:-default}`; `$${` is a literal `${`. A scalar that was one whole reference, quoted
 * or not, becomes an {@link EnvValue}: {@link normalise} types it by where it ends up (a number or a
 * boolean where the schema takes one, the text where it takes only a string).
 */
function interpolateEnv(
  doc: Document,
  env: NodeJS.ProcessEnv,
  missing: (node: Node, path: string, name: string) => void,
): void {
  visit(doc, {
    Scalar(_key, node, ancestors) {
      if (typeof node.value !== 'string' || !node.value.includes('${')) return;
      const path = yamlPath(ancestors, node);
      const whole = /^\$\{[A-Za-z_][A-Za-z0-9_]*(:-[^}]*)?\}$/.test(node.value);
      const out = node.value.replace(
        /(\$?)\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g,
        (m, esc, name, dflt) => {
          if (esc) return m.slice(1);
          const v = env[name];
          if (v !== undefined && v !== '') return v;
          if (dflt !== undefined) return dflt;
          missing(node, path, name);
          return '';
        },
      );
      node.value = whole ? new EnvValue(out) : out;
    },
  });
}

/**
 * Prepares the parsed value for validation, guided by the schema: drops `x-*` keys from every object
 * the schema defines (not from free-form maps such as `env` or `params`), and types each
 * {@link EnvValue}. Objects shared through aliases and merge keys are copied, never changed in place.
 */
function normalise(schema: any, value: unknown, within: Set<object> = new Set()): unknown {
  if (value instanceof EnvValue) {
    const onlyString = schema && branchesOf(schema).every((b: any) => b.type === 'string');
    return onlyString ? value.text : retype(value.text);
  }
  if (value === null || typeof value !== 'object') return value;
  // `a: &x { b: *x }` makes a value that contains itself; no config means that.
  if (within.has(value)) throw new RangeError('an alias refers to a mapping or list that contains it');
  within.add(value);
  try {
    return Array.isArray(value)
      ? value.map((v) => normalise(schema?.items, v, within))
      : normaliseObject(schema, value as Record<string, unknown>, within);
  } finally {
    within.delete(value);
  }
}

function normaliseObject(schema: any, obj: Record<string, unknown>, within: Set<object>): unknown {
  const member = schema?.anyOf
    ? (schema.anyOf as any[]).find(
        (b) => b.type === 'object' && (b.required ?? []).every((k: string) => k in obj),
      )
    : schema;
  const extensions = member?.patternProperties?.[EXTENSION_KEY] !== undefined;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) {
    if (extensions && new RegExp(EXTENSION_KEY).test(k)) continue;
    out[k] = normalise(propertySchema(member, k), v, within);
  }
  return out;
}

function branchesOf(schema: any): any[] {
  return schema.anyOf ? schema.anyOf.flatMap(branchesOf) : [schema];
}

function propertySchema(schema: any, key: string): any {
  if (!schema || schema.type !== 'object') return undefined;
  if (schema.properties?.[key]) return schema.properties[key];
  for (const [pattern, sub] of Object.entries(schema.patternProperties ?? {}))
    if (new RegExp(pattern).test(key)) return sub;
  return typeof schema.additionalProperties === 'object' ? schema.additionalProperties : undefined;
}

function retype(s: string): unknown {
  if (/^-?\d+(\.\d+)?$/.test(s)) return Number(s);
  if (s === 'true' || s === 'false') return s === 'true';
  return s;
}

function yamlPath(ancestors: readonly unknown[], node: Node): string {
  const parts: string[] = [];
  let child: unknown = node;
  for (let i = ancestors.length - 1; i >= 0; i--) {
    const a = ancestors[i] as any;
    if (a && a.key !== undefined && a.value === child) {
      parts.unshift(String(a.key?.value ?? a.key));
      child = a;
    } else if (isSeq(a)) {
      parts.unshift(String(a.items.indexOf(child as any)));
      child = a;
    } else child = a;
  }
  return parts.join('.');
}

/**
 * ajv reports every branch of a failed anyOf. Keep only the branch the user meant (the one whose
 * required keys the value has, or whose type matches), or one line saying what was expected.
 */
function simplifyErrors(errors: ErrorObject[], root: unknown): ErrorObject[] {
  const unions = errors.filter((e) => e.keyword === 'anyOf');
  let kept = errors;
  for (const u of unions) {
    const value = valueAt(root, u.instancePath);
    const branches = (u.parentSchema as any)?.anyOf as any[] | undefined;
    const prefix = u.schemaPath + '/';
    // A union of constants ('token-bucket' | 'sliding-window') keeps its one anyOf error.
    if (branches?.every((b) => b.const !== undefined)) {
      kept = kept.filter((e) => !e.schemaPath.startsWith(prefix));
      continue;
    }
    const chosen = branches?.findIndex((b) =>
      b.type === 'object'
        ? value !== null &&
          typeof value === 'object' &&
          !Array.isArray(value) &&
          (b.required ?? []).every((k: string) => k in (value as object))
        : typeof value === (b.type === 'integer' ? 'number' : b.type),
    );
    kept = kept.filter((e) => {
      if (!e.schemaPath.startsWith(prefix)) return true;
      return chosen !== undefined && chosen >= 0 && e.schemaPath.startsWith(`${prefix}${chosen}/`);
    });
    if (chosen !== undefined && chosen >= 0) kept = kept.filter((e) => e !== u);
  }
  return kept;
}

function valueAt(root: unknown, pointer: string): unknown {
  let v: any = root;
  for (const part of pointer.split('/').slice(1)) v = v?.[part.replace(/~1/g, '/').replace(/~0/g, '~')];
  return v;
}

/** Where a schema error is located: the parsed document, its plain value, the file and a line finder. */
interface IssueSource {
  doc: Document;
  raw: unknown;
  file: string;
  lineOf: (n: Node | null | undefined) => number;
}

function toIssue(err: ErrorObject, { doc, raw, file, lineOf }: IssueSource): ConfigIssue {
  const segments = err.instancePath
    .split('/')
    .slice(1)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  const path = segments.map((s) => (/^\d+$/.test(s) ? s : s)).join('.');
  const node =
    (doc.getIn(
      segments.map((s) => (/^\d+$/.test(s) ? Number(s) : s)),
      true,
    ) as Node) ?? null;
  const schema = err.parentSchema as any;
  let message = err.message ?? 'is invalid';
  let line = lineOf(node ?? nearestNode(doc, segments));
  let at = path;
  switch (err.keyword) {
    case 'additionalProperties': {
      const prop = (err.params as any).additionalProperty as string;
      const known = Object.keys(schema?.properties ?? {});
      const hint = closest(prop, known);
      message =
        known.length === 0 && schema?.patternErrorMessage
          ? `bad name "${prop}": ${schema.patternErrorMessage}`
          : `unknown property "${prop}"${hint ? ` (did you mean "${hint}"?)` : ` (expected one of: ${known.join(', ')})`}`;
      if (isMap(node)) {
        const pair = node.items.find((p) => (isScalar(p.key) ? p.key.value : p.key) === prop);
        if (pair) line = lineOf(pair.key as Node);
      }
      at = path ? `${path}.${prop}` : prop;
      break;
    }
    case 'required':
      message = `missing required property "${(err.params as any).missingProperty}"`;
      break;
    case 'anyOf': {
      const got = describe(valueAt(raw, err.instancePath));
      const branches = (schema?.anyOf ?? []) as any[];
      const keys = branches.map((b) =>
        b.type === 'object' && b.required?.length === 1 ? b.required[0] : '',
      );
      message = schema?.errorMessage
        ? `${schema.errorMessage}, got ${got}`
        : branches.every((b) => b.const !== undefined)
          ? `must be one of ${branches.map((b) => JSON.stringify(b.const)).join(', ')}, got ${got}`
          : keys.every(Boolean)
            ? `must have exactly one of ${keys.join(', ')} as its key, got ${got}`
            : `must be ${branches.map(expected).join(' or ')}, got ${got}`;
      break;
    }
    case 'pattern':
      // The rule in words (patternErrorMessage, as editors show it); the raw regex only as a fallback.
      message = `${JSON.stringify(valueAt(raw, err.instancePath))} is not valid: ${schema?.patternErrorMessage ?? `must match ${(err.params as any).pattern}`}`;
      break;
    case 'type':
      message = `must be ${(err.params as any).type}, got ${describe(valueAt(raw, err.instancePath))}`;
      break;
    case 'propertyNames':
      message = 'service names must be lowercase letters, digits, "-" or "_" (at most 63 characters)';
      break;
    default: {
      const got = valueAt(raw, err.instancePath);
      message = `${err.message}${typeof got !== 'object' ? `, got ${JSON.stringify(got)}` : ''}`;
    }
  }
  return { file, line, path: at, message };
}

function nearestNode(doc: Document, segments: string[]): Node | null {
  for (let n = segments.length; n >= 0; n--) {
    const node = doc.getIn(segments.slice(0, n), true) as Node | undefined;
    if (node) return node;
  }
  return null;
}

/** One union branch in words: "a mapping with process", "a string", "a number". */
function expected(b: any): string {
  if (b.type === 'object') {
    const keys = (b.required ?? Object.keys(b.properties ?? {})) as string[];
    return keys.length ? `a mapping with ${keys.join(', ')}` : 'a mapping';
  }
  if (b.const !== undefined) return JSON.stringify(b.const);
  if (b.type === 'array') return 'a list';
  return b.type === 'integer' ? 'an integer' : `a ${b.type ?? 'value'}`;
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') {
    const keys = Object.keys(v);
    return keys.length === 0 ? 'an empty mapping' : `a mapping with ${keys.slice(0, 5).join(', ')}`;
  }
  return `${typeof v} ${JSON.stringify(v)}`;
}

/** The known name nearest to `word` by edit distance, if it is close enough to be a typo. */
function closest(word: string, known: string[]): string | undefined {
  let best: string | undefined;
  let bestD = Math.max(2, Math.floor(word.length / 3)) + 1;
  for (const k of known) {
    const d = editDistance(word, k);
    if (d < bestD) [best, bestD] = [k, d];
  }
  return best;
}

function editDistance(a: string, b: string): number {
  const dp = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = dp[0]!;
    dp[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = dp[j]!;
      dp[j] = Math.min(dp[j]! + 1, dp[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return dp[b.length]!;
}

/** Checks one field against another, which JSON Schema cannot say. */
function crossFieldChecks(config: Config): Array<{ path: (string | number)[]; message: string }> {
  const out: Array<{ path: (string | number)[]; message: string }> = [];
  config.gateway.trusted_proxies.forEach((cidr, i) => {
    if (parseCidr(cidr) === undefined)
      out.push({ path: ['gateway', 'trusted_proxies', i], message: `"${cidr}" ${CIDR_RULE}` });
  });
  for (const [name, svc] of Object.entries(config.services)) {
    const s = svc.scaling;
    if (s.max < s.min)
      out.push({
        path: ['services', name, 'scaling', 'max'],
        message: `must be >= min (${s.min}), got ${s.max}`,
      });
    svc.routes.forEach((r, i) => {
      if (r.path && r.path_prefix)
        out.push({
          path: ['services', name, 'routes', i],
          message: 'set either path or path_prefix, not both',
        });
    });
    const keyed = svc.auth === 'key' || svc.routes.some((r) => r.auth === 'key');
    if (keyed && config.gateway.workers > 1 && !config.store.redis)
      out.push({
        path: ['services', name, svc.auth === 'key' ? 'auth' : 'routes'],
        message:
          'auth: key with gateway.workers > 1 needs store.redis (the workers read the keys there; docs/consumers.md)',
      });
    // Without Redis a worker's front door would keep its budgets to itself and write no ledger
    // rows (the SQLite store belongs to the primary): refused rather than silently unmetered.
    if (svc.llm !== undefined && config.gateway.workers > 1 && !config.store.redis)
      out.push({
        path: ['services', name, 'llm'],
        message:
          'an llm service with gateway.workers > 1 needs store.redis (the workers share budgets and the usage ledger there; docs/llm.md)',
      });
    const rl = svc.traffic?.rate_limit;
    if (rl?.burst !== undefined && rl.burst < 1)
      out.push({ path: ['services', name, 'traffic', 'rate_limit', 'burst'], message: 'must be >= 1' });
  }
  return out;
}
