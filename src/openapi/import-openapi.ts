/**
 * Imports a service's own API description (Swagger 2.0, OpenAPI 3.0, 3.1 or 3.2; YAML or JSON;
 * `$ref`s across files resolved by @apidevtools/swagger-parser) into what luascale needs:
 * - one route per path and method, under the `servers` base path (2.0: `basePath`); 3.2's `query`
 *   (the HTTP QUERY method) and `additionalOperations` (other methods) too;
 * - an operation name per route (`operationId`, or one derived from method and path);
 * - `x-luascale-slo`, `x-luascale-rate-limit` and `x-luascale-timeout` read at document, path and
 *   operation level, the most specific level winning field by field.
 * A broken document throws before any route is built; a `$ref` that does not resolve is named by
 * where it is written (file and JSON pointer) and what it points at. Spec violations the gateway
 * can route around (a repeated operationId, a second spelling of one route, `GET:` for `get:`) are
 * imported in the one sensible reading and reported in `warnings`, one line each.
 */
import { readFileSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { LineCounter, isMap, isNode, isScalar, isSeq, parseDocument, parse as parseYaml } from 'yaml';
import { LuascaleError, isLuascaleError } from '../core/errors.js';
import { parseDuration } from '../core/duration.js';
import { normalisePercent } from '../core/normalise-path.js';
import type { Slo } from '../policy/policy.js';

// `head` before `get`: a GET route also takes HEAD (RFC 9110 §9.3.2) unless the document has its own.
const METHODS = ['head', 'get', 'put', 'post', 'delete', 'options', 'patch', 'trace'] as const;
/** OpenAPI 3.2 adds `query`, the HTTP QUERY method (§4.8.8.1), and `additionalOperations`. */
const METHODS_32 = [...METHODS, 'query'] as const;

/** A rate limit declared in the document. */
export interface ImportedRateLimit {
  rps: number;
  burst?: number;
  key?: string;
}

/** One operation, ready to become a gateway route. */
export interface ImportedOperation {
  operationId: string;
  /** True when the name was derived because the document has no operationId. */
  derivedId: boolean;
  method: string;
  /** The full path template including the base path, e.g. `/v1/pets/{id}`. */
  path: string;
  slo?: Slo;
  rateLimit?: ImportedRateLimit;
  timeoutMs?: number;
  /** The dereferenced operation object, for optional request validation. */
  operation: Record<string, any>;
  /** Path-item-level parameters, which apply to every operation of the path. */
  pathParameters: any[];
  /** The JSON Schema its schemas are written in: 2020-12 for OpenAPI 3.1 (default draft-07). */
  schemaDialect?: SchemaDialect;
}

/** JSON Schema dialects request validation knows: 3.1's 2020-12, and draft 7 for 2.0 and 3.0. */
export type SchemaDialect = 'draft-07' | '2020-12';

/** The result of an import. */
export interface ImportedApi {
  file: string;
  title: string;
  version: string;
  specVersion: string;
  basePath: string;
  /** Document-level SLO (the service's default). */
  slo?: Slo;
  operations: ImportedOperation[];
  /**
   * Spec violations imported anyway, one line each (`file:line: message`): what was made of them.
   * `check` prints them, `up` logs them once at start.
   */
  warnings: string[];
}

/** How much of the document `importOpenApi` checks. */
export interface ImportOptions {
  /**
   * Also validate the whole document against the OpenAPI JSON Schema (what `luascale check` does).
   * Off for `up`: compiling that schema and walking a document of a few MB with it took most of a
   * large document's start-up, and nothing luascale uses depends on it. The import itself still
   * refuses what it cannot use: unreadable YAML/JSON, a `$ref` that does not resolve, an unsupported
   * version, and a malformed `info`, `paths`, path item or operation.
   */
  schema?: boolean;
}

/**
 * Imports already made in this process, per file (checked by size and modification time): `up`
 * imports each document in its pre-flight and again when it builds the services.
 */
const imports = new Map<string, { stamp: string; api: Promise<ImportedApi> }>();
const KEPT_IMPORTS = 8;

/** Reads, resolves and checks `file`, then derives routes, names and SLOs. */
export async function importOpenApi(file: string, options: ImportOptions = {}): Promise<ImportedApi> {
  let stamp: string;
  try {
    const st = statSync(file);
    stamp = `${st.size}:${st.mtimeMs}:${options.schema === true}`;
  } catch (err) {
    throw openApiError(file, err);
  }
  const key = resolve(file);
  const hit = imports.get(key);
  if (hit?.stamp === stamp) return hit.api;
  const api = importNow(file, options);
  imports.delete(key);
  imports.set(key, { stamp, api });
  if (imports.size > KEPT_IMPORTS) imports.delete(imports.keys().next().value!);
  // A failed import is not kept: the next attempt reads the file again.
  api.catch(() => imports.get(key)?.api === api && imports.delete(key));
  return api;
}

async function importNow(file: string, options: ImportOptions): Promise<ImportedApi> {
  let parsed: { api: any; warnings: string[] };
  try {
    parsed = await parseDocumentFile(file, options.schema === true);
  } catch (err) {
    throw withLine(openApiError(file, err));
  }
  try {
    const api = build(file, parsed.api);
    api.warnings.unshift(...parsed.warnings);
    return api;
  } catch (err) {
    throw withLine(err);
  }
}

/**
 * The document with its `$ref`s resolved, through swagger-parser. Two things it refuses are read
 * anyway: a 3.2 document (the parser knows up to 3.1, whose `$ref` rules 3.2 keeps; it has no 3.2
 * JSON Schema, so `check` says that schema check was not made) and a 2.0 document with a repeated
 * operationId (its spec check refuses it without a place; `build` names both and renames the second).
 */
async function parseDocumentFile(file: string, schema: boolean): Promise<{ api: any; warnings: string[] }> {
  // Loaded on first use: the CLI's other commands, and configs without a document, never need it.
  const { default: SwaggerParser } = await import('@apidevtools/swagger-parser');
  // `$ref`s are resolved in local files only: importing never reaches the network (a document
  // naming a URL would otherwise make `up` fetch it, or hang on it, at every start).
  const opts = (withSchema: boolean) => ({
    resolve: { http: false },
    validate: { schema: withSchema, spec: true },
  });
  try {
    return { api: await SwaggerParser.validate(file, opts(schema)), warnings: [] };
  } catch (err) {
    const message = String((err as any)?.message ?? '');
    const dup = /^Validation failed\. Duplicate operation id '/.test(message);
    // 3.2 is refused as an unknown version, or (a document of webhooks only) as no API definition.
    if (!dup && !/^Unsupported OpenAPI version: 3\.2\.|is not a valid Openapi API definition$/.test(message))
      throw err;
    let doc: any;
    try {
      // No cap on aliases: swagger-parser's own YAML reading (js-yaml) has none either.
      doc = parseYaml(readFileSync(file, 'utf8'), { maxAliasCount: -1 });
    } catch {
      throw err;
    }
    if (!doc || typeof doc !== 'object') throw err;
    const v32 = typeof doc.openapi === 'string' && /^3\.2\.\d+$/.test(doc.openapi);
    if (!v32 && !dup) throw err;
    if (v32) {
      const version = doc.openapi;
      doc.openapi = '3.1.2';
      const api: any = await SwaggerParser.validate(file, doc, opts(false));
      api.openapi = version;
      const line = lineOf(file, '/openapi');
      const warnings = schema
        ? [
            `${file}${line === undefined ? '' : `:${line}`}: OpenAPI ${version} is not checked against a JSON Schema ` +
              '(the parser has none for 3.2); the import checked what luascale uses',
          ]
        : [];
      return { api, warnings };
    }
    // Swagger 2.0: each operationId is held under a placeholder through the spec check, then restored.
    const ids = new Map<string, string>();
    for (const item of Object.values<any>(doc.paths ?? {}))
      for (const method of METHODS) {
        const op = item?.[method];
        if (typeof op?.operationId !== 'string' || op.operationId.startsWith('\u0000')) continue;
        const placeholder = `\u0000${ids.size}`;
        ids.set(placeholder, op.operationId);
        op.operationId = placeholder;
      }
    const api: any = await SwaggerParser.validate(file, doc, opts(schema));
    for (const item of Object.values<any>(api.paths ?? {}))
      for (const method of METHODS) {
        const op = item?.[method];
        if (op && ids.has(op.operationId)) op.operationId = ids.get(op.operationId);
      }
    return { api, warnings: [] };
  }
}

function build(file: string, api: any): ImportedApi {
  const specVersion: string = api.openapi ?? api.swagger ?? 'unknown';
  if (!/^(2\.0|3\.[012]\.\d+)$/.test(specVersion)) {
    throw new LuascaleError('LS_ERR_OPENAPI_INVALID', {
      file,
      pointer: api.openapi ? '/openapi' : '/swagger',
      reason: `unsupported version ${specVersion} (2.0, 3.0.x, 3.1.x and 3.2.x are)`,
    });
  }
  const v32 = specVersion.startsWith('3.2');
  checkShape(file, api, v32);
  const lines = lineLocator(file);
  const at = (pointer: string) => {
    const line = lines(pointer);
    return line === undefined ? '' : ` (line ${line})`;
  };
  const warnings: string[] = [];
  const warn = (pointer: string, message: string) => {
    const line = lines(pointer);
    warnings.push(`${file}${line === undefined ? '' : `:${line}`}: ${message}`);
  };
  const basePath = normaliseBase(
    specVersion === '2.0' ? (api.basePath ?? '') : serverBase(file, '', api.servers),
  );
  const docExt = extensions(file, '', api);
  // 3.1 and 3.2 schemas are JSON Schema 2020-12 unless `jsonSchemaDialect` names an older draft.
  const schemaDialect: SchemaDialect =
    /^3\.[12]/.test(specVersion) && !/draft-0[4-7]/.test(String(api.jsonSchemaDialect ?? ''))
      ? '2020-12'
      : 'draft-07';
  const operations: ImportedOperation[] = [];
  // Declared operationIds keep their names (the first of a repeated one); other names never take one.
  const declared = declaredOperationIds(api, v32);
  const taken = new Map<string, string>();
  const shapes = new Map<string, string>();
  for (const [path, item] of Object.entries<any>(api.paths ?? {})) {
    if (path.startsWith('x-') || !item || typeof item !== 'object') continue;
    const pathPointer = `/paths/${escapePointer(path)}`;
    const pathExt = extensions(file, pathPointer, item);
    // 3.x `servers` of a path item or an operation replace the document's (§4.8.9, §4.8.10).
    const pathBase =
      specVersion !== '2.0' && nonEmpty(item.servers)
        ? normaliseBase(serverBase(file, pathPointer, item.servers))
        : basePath;
    for (const { key, pointer, method, op, additional } of operationsOf(item, pathPointer, v32)) {
      if (!additional && key !== method.toLowerCase())
        warn(
          pointer,
          `method key "${key}" at ${pointer} imported as ${method}; OpenAPI method keys are lower case ("${method.toLowerCase()}")`,
        );
      else if (additional && key !== method)
        warn(
          pointer,
          `method "${key}" at ${pointer} imported as ${method} (requests name methods in upper case)`,
        );
      const opBase =
        specVersion !== '2.0' && nonEmpty(op.servers)
          ? normaliseBase(serverBase(file, pointer, op.servers))
          : pathBase;
      const template = encodeTemplate(joinPath(opBase, path));
      if (template === undefined)
        throw new LuascaleError('LS_ERR_OPENAPI_INVALID', {
          file,
          pointer: pathPointer,
          reason: `${show(joinPath(opBase, path))} is not a path a request can name (a % not followed by two hex digits, %00, or a lone surrogate)`,
        });
      // `/pets/{id}` and `/pets/{petId}` are one path (OpenAPI 3 §4.8.8: such paths MUST NOT both
      // exist); with the same method the second operation could never be reached: it is skipped.
      const shape = `${method} ${template.replace(/\{[^/{}]+\}/g, '{}')}`;
      const twin = shapes.get(shape);
      if (twin !== undefined) {
        warn(
          pointer,
          `${method} ${show(template)} at ${pointer} is the same route as ${twin}${at(twin)}, which takes every request it could match: skipped (rename the path or merge the two)`,
        );
        continue;
      }
      shapes.set(shape, pointer);
      const id = declaredId(op);
      let unique = id;
      if (unique === undefined || taken.has(unique)) {
        // "The id MUST be unique among all operations" (OpenAPI 3.1 §4.8.10.1, 2.0 likewise): the
        // second of a repeated one gets a derived name, like an operation without one.
        const base = unique ?? deriveOperationId(method, path);
        unique = base;
        for (let n = 2; declared.has(unique) || taken.has(unique); n++) unique = `${base}_${n}`;
        if (id !== undefined) {
          const first = taken.get(id)!;
          warn(
            `${pointer}/operationId`,
            `operationId ${show(id)} at ${pointer}/operationId is already the operationId of ${first}${at(first)}; ` +
              `imported as ${show(unique)} (an operationId must be unique in the document, OpenAPI §4.8.10.1)`,
          );
        }
      }
      taken.set(unique, `${pointer}/operationId`);
      const opExt = extensions(file, pointer, op);
      operations.push({
        operationId: unique,
        derivedId: id === undefined,
        method,
        path: template,
        slo: merge(docExt.slo, pathExt.slo, opExt.slo),
        rateLimit: opExt.rateLimit ?? pathExt.rateLimit ?? docExt.rateLimit,
        timeoutMs: opExt.timeoutMs ?? pathExt.timeoutMs ?? docExt.timeoutMs,
        operation: op,
        pathParameters: Array.isArray(item.parameters) ? item.parameters : [],
        schemaDialect,
      });
    }
  }
  return {
    file,
    title: api.info?.title ?? '',
    version: api.info?.version ?? '',
    specVersion,
    basePath,
    slo: docExt.slo,
    operations,
    warnings,
  };
}

/** One operation of a path item: its key as written, its JSON pointer and its (upper-case) method. */
interface PathOperation {
  key: string;
  pointer: string;
  method: string;
  op: any;
  /** From 3.2's `additionalOperations` (keys are methods as sent), not a fixed field. */
  additional: boolean;
}

/**
 * The operations of a path item in import order: each method's lower-case key, then any other
 * spelling of it (`GET`: OpenAPI keys are case-sensitive, but such a key names no other thing), then
 * 3.2's `query` and `additionalOperations`.
 */
function operationsOf(item: any, pathPointer: string, v32: boolean): PathOperation[] {
  const out: PathOperation[] = [];
  const keys = Object.keys(item);
  for (const method of v32 ? METHODS_32 : METHODS)
    for (const key of [method, ...keys.filter((k) => k !== method && k.toLowerCase() === method)])
      if (item[key] !== undefined)
        out.push({
          key,
          pointer: `${pathPointer}/${escapePointer(key)}`,
          method: method.toUpperCase(),
          op: item[key],
          additional: false,
        });
  const more = item.additionalOperations;
  if (v32 && more && typeof more === 'object')
    for (const [key, op] of Object.entries<any>(more))
      out.push({
        key,
        pointer: `${pathPointer}/additionalOperations/${escapePointer(key)}`,
        method: key.toUpperCase(),
        op,
        additional: true,
      });
  return out;
}

/** An HTTP method name (RFC 9110 §9.1: a token). */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/**
 * The structure the import relies on, which the JSON Schema validation used to guarantee: an object
 * `info` with a title and a version, and objects for `paths`, each path item and each operation.
 */
function checkShape(file: string, api: any, v32: boolean): void {
  const bad = (pointer: string, reason: string) =>
    new LuascaleError('LS_ERR_OPENAPI_INVALID', { file, pointer, reason });
  const isObject = (v: unknown) => v !== null && typeof v === 'object' && !Array.isArray(v);
  if (!isObject(api)) throw bad('/', 'must be an object');
  if (!isObject(api.info)) throw bad('/info', 'must be an object');
  for (const k of ['title', 'version'])
    if (typeof api.info[k] !== 'string') throw bad(`/info/${k}`, 'must be a string');
  // `servers` give the base path of the routes: an array of objects with a string url (3.x §4.8.5).
  const checkServers = (pointer: string, servers: unknown) => {
    if (servers === undefined || api.swagger !== undefined) return;
    if (!Array.isArray(servers)) throw bad(`${pointer}/servers`, 'must be an array');
    servers.forEach((sv: any, i) => {
      if (!isObject(sv) || typeof sv.url !== 'string')
        throw bad(`${pointer}/servers/${i}`, 'must be an object with a string url');
    });
  };
  checkServers('', api.servers);
  if (api.paths === undefined) {
    // 3.1 and 3.2 allow a document of webhooks or components only.
    if (/^3\.[12]/.test(String(api.openapi))) return;
    throw bad('/paths', 'is required');
  }
  if (!isObject(api.paths)) throw bad('/paths', 'must be an object');
  for (const [path, item] of Object.entries<any>(api.paths)) {
    if (path.startsWith('x-')) continue;
    const pointer = `/paths/${escapePointer(path)}`;
    if (!isObject(item)) throw bad(pointer, 'must be an object');
    if (!path.startsWith('/')) throw bad(pointer, 'must begin with a slash');
    // Requests are matched in their normal form (gateway/pipeline/normalise-path.ts): a path with
    // a query, a fragment or a `.`/`..` segment would be a route no request can reach.
    if (/[?#]/.test(path))
      throw bad(pointer, 'a path holds no query (?) or fragment (#); describe a query as parameters');
    if (/\/\.\.?(\/|$)/.test(path))
      throw bad(pointer, 'has a "." or ".." segment, which requests never reach (they are resolved first)');
    if (item.parameters !== undefined && !Array.isArray(item.parameters))
      throw bad(`${pointer}/parameters`, 'must be an array');
    checkServers(pointer, item.servers);
    if (v32 && item.additionalOperations !== undefined && !isObject(item.additionalOperations))
      throw bad(`${pointer}/additionalOperations`, 'must be an object (method names to operations)');
    for (const { key, pointer: at, op, additional } of operationsOf(item, pointer, v32)) {
      if (additional && !TOKEN.test(key)) throw bad(at, 'is not an HTTP method name (RFC 9110 §9.1)');
      if (!isObject(op)) throw bad(at, 'must be an object');
      if (op.parameters !== undefined && !Array.isArray(op.parameters))
        throw bad(`${at}/parameters`, 'must be an array');
      if (op.operationId !== undefined && typeof op.operationId !== 'string')
        throw bad(`${at}/operationId`, 'must be a string');
      checkServers(at, op.servers);
    }
  }
}

function declaredId(op: any): string | undefined {
  return typeof op.operationId === 'string' && op.operationId !== '' ? op.operationId : undefined;
}

/**
 * Every operationId the document declares: a name derived for another operation (one without an
 * operationId, or the second of a repeated one) never takes one, so each keeps its signals, SLO
 * and policy entries under the name the document wrote.
 */
function declaredOperationIds(api: any, v32: boolean): Set<string> {
  const out = new Set<string>();
  for (const [path, item] of Object.entries<any>(api.paths ?? {})) {
    if (path.startsWith('x-') || !item || typeof item !== 'object') continue;
    for (const { op } of operationsOf(item, '', v32)) {
      const id = op ? declaredId(op) : undefined;
      if (id !== undefined) out.add(id);
    }
  }
  return out;
}

/** LS_ERR_OPENAPI_INVALID at the second operation naming `id`, with both JSON pointers and lines. */
function duplicateOperationId(file: string, id: string, first: string, second: string): LuascaleError {
  const at = (pointer: string) => {
    const line = lineOf(file, pointer);
    return line === undefined ? '' : ` (line ${line})`;
  };
  return new LuascaleError('LS_ERR_OPENAPI_INVALID', {
    file,
    pointer: second,
    reason:
      `operationId ${show(id)}${at(second)} is already the operationId of ` +
      `${first}${at(first)}; an operationId must be unique in the document (OpenAPI §4.8.10.1): rename one`,
  });
}

/** `get /users/{id}/posts` → `get_users_id_posts` (letters and digits of any script kept). */
export function deriveOperationId(method: string, path: string): string {
  const words = path
    .split('/')
    .filter(Boolean)
    .map((s) => s.replace(/[{}]/g, '').replace(/[^\p{L}\p{N}]+/gu, '_'))
    .filter(Boolean);
  return [method.toLowerCase(), ...words].join('_') || method.toLowerCase();
}

/**
 * The path of the first server's URL, its variables substituted with their defaults (OpenAPI 3
 * §4.8.6). A variable in the path with no default is refused: the routes would silently lose that
 * part of their base path (the Server Variable Object's `default` is REQUIRED).
 */
function serverBase(file: string, pointer: string, servers: any): string {
  const s = Array.isArray(servers) ? servers[0] : undefined;
  if (!s?.url) return '';
  const raw = String(s.url);
  // The path starts after `scheme://authority` (or `//authority`), else at the start.
  const authority = /^(?:[^:/?#{}]*:|\{[^}]*\}:)?\/\/[^/?#]*/.exec(raw)?.[0].length ?? 0;
  // Only the path is kept: the scheme and host (and their variables) are the instances' business.
  const path = raw.slice(authority).replace(/\{([^}]+)\}/g, (_m, name: string) => {
    const value = s.variables?.[name]?.default;
    if (value === undefined)
      throw new LuascaleError('LS_ERR_OPENAPI_INVALID', {
        file,
        pointer: `${pointer}/servers/0/url`,
        reason: `variable {${name}} has no default in servers[0].variables (the base path needs one)`,
      });
    return String(value);
  });
  try {
    // `/{base}` with a default of `/v2` gives `//v2`: slashes of a composed URL, not an authority.
    return new URL(path.replace(/\/{2,}/g, '/'), 'http://placeholder').pathname;
  } catch {
    return '';
  }
}

function nonEmpty(servers: unknown): boolean {
  return Array.isArray(servers) && servers.length > 0;
}

function normaliseBase(base: string): string {
  const b = base.replace(/\/+$/, '');
  return b === '' || b === '/' ? '' : b.startsWith('/') ? b : `/${b}`;
}

/**
 * A path template in the form the route stage matches requests in: characters a path may not hold
 * as they are (RFC 3986 §3.3: non-ASCII, space, ...) percent-encoded as UTF-8, then every
 * percent-encoding in the normal form of RFC 3986 §6.2.2 (upper-case hex, unreserved characters
 * decoded; gateway/pipeline/normalise-path.ts), so `/café/{id}` matches `/caf%C3%A9/7` and
 * `/caf%c3%a9/7`. `{name}` parts are kept as written. Undefined for a malformed `%`.
 */
function encodeTemplate(path: string): string | undefined {
  const parts = path.split(/(\{[^/{}]+\})/);
  for (let i = 0; i < parts.length; i += 2) {
    let part: string | undefined;
    try {
      part = normalisePercent(
        parts[i]!.replace(/[^A-Za-z0-9\-._~!$&'()*+,;=:@/%]/gu, (c) => encodeURIComponent(c)),
      );
    } catch {
      return undefined; // a lone UTF-16 surrogate has no UTF-8 encoding
    }
    if (part === undefined) return undefined;
    parts[i] = part;
  }
  return parts.join('');
}

function joinPath(base: string, path: string): string {
  return `${base}${path.startsWith('/') ? path : `/${path}`}`;
}

/** The luascale extensions read at one level of a document. */
export interface Ext {
  slo?: Slo;
  rateLimit?: ImportedRateLimit;
  timeoutMs?: number;
}

/** A value for an error message; a circular $ref (dereferenced into a cycle) cannot be JSON. */
function show(v: unknown): string {
  try {
    return String(JSON.stringify(v)).slice(0, 80);
  } catch {
    return 'a circular $ref';
  }
}

/** The `x-luascale-slo`, `-rate-limit` and `-timeout` of `obj`, checked (errors name `file#pointer`). */
export function extensions(file: string, pointer: string, obj: any): Ext {
  const out: Ext = {};
  const bad = (key: string, reason: string) =>
    new LuascaleError('LS_ERR_OPENAPI_INVALID', { file, pointer: `${pointer}/${key}`, reason });
  const slo = obj['x-luascale-slo'];
  if (slo !== undefined) {
    if (!slo || typeof slo !== 'object') throw bad('x-luascale-slo', 'must be an object');
    const s: Slo = {};
    for (const [k, lim] of [
      ['latency_p95_ms', Infinity],
      ['latency_p99_ms', Infinity],
      ['ttft_p95_ms', Infinity],
      ['error_rate', 1],
      ['availability', 1],
    ] as const) {
      const v = slo[k];
      if (v === undefined) continue;
      if (typeof v !== 'number' || !(v > 0) || v > lim)
        throw bad(`x-luascale-slo/${k}`, `must be a number in (0, ${lim}], got ${show(v)}`);
      s[k] = v;
    }
    const unknown = Object.keys(slo).filter(
      (k) => !['latency_p95_ms', 'latency_p99_ms', 'ttft_p95_ms', 'error_rate', 'availability'].includes(k),
    );
    if (unknown.length)
      throw bad(
        `x-luascale-slo/${unknown[0]}`,
        'unknown field (latency_p95_ms, latency_p99_ms, ttft_p95_ms, error_rate, availability)',
      );
    out.slo = s;
  }
  const rl = obj['x-luascale-rate-limit'];
  if (rl !== undefined) {
    if (!rl || typeof rl !== 'object' || typeof rl.rps !== 'number' || !(rl.rps > 0))
      throw bad('x-luascale-rate-limit', 'must be { rps > 0, burst?, key? }');
    out.rateLimit = {
      rps: rl.rps,
      ...(rl.burst !== undefined ? { burst: Number(rl.burst) } : {}),
      ...(rl.key !== undefined ? { key: String(rl.key) } : {}),
    };
  }
  const to = obj['x-luascale-timeout'];
  if (to !== undefined) {
    try {
      out.timeoutMs = parseDuration(to);
    } catch {
      throw bad(
        'x-luascale-timeout',
        `must be a duration such as 5s or a number of seconds, got ${show(to)}`,
      );
    }
  }
  return out;
}

function merge(...slos: Array<Slo | undefined>): Slo | undefined {
  const present = slos.filter((s): s is Slo => s !== undefined);
  return present.length ? Object.assign({}, ...present) : undefined;
}

/** Documents up to this size are parsed again, after a failed import or for a warning, to find a line. */
const LINE_LOOKUP_MAX_BYTES = 8 * 1024 * 1024;

/**
 * Adds the line to an LS_ERR_OPENAPI_INVALID naming a JSON pointer: the document is parsed once more
 * (only after a failure) with source positions, and the pointer followed as far as it exists.
 */
function withLine(err: unknown): unknown {
  if (!isLuascaleError(err, 'LS_ERR_OPENAPI_INVALID')) return err;
  const { file, pointer, reason } = err.details as { file?: string; pointer?: string; reason?: string };
  if (typeof file !== 'string' || typeof pointer !== 'string' || typeof reason !== 'string') return err;
  if (/\bline \d+/.test(reason) || pointer === '/' || pointer === '') return err;
  const line = lineOf(file, pointer);
  if (line === undefined) return err;
  return new LuascaleError('LS_ERR_OPENAPI_INVALID', { file, pointer, reason: `${reason} (line ${line})` });
}

function lineOf(file: string, pointer: string): number | undefined {
  return lineLocator(file)(pointer);
}

/** Lines of JSON pointers of `file`, the document parsed (with source positions) on the first call. */
function lineLocator(file: string): (pointer: string) => number | undefined {
  let parsed: { root: unknown; counter: LineCounter } | null | undefined;
  return (pointer) => {
    parsed ??= parseWithPositions(file);
    return parsed === null ? undefined : lineIn(parsed.root, parsed.counter, pointer);
  };
}

function parseWithPositions(file: string): { root: unknown; counter: LineCounter } | null {
  try {
    if (statSync(file).size > LINE_LOOKUP_MAX_BYTES) return null;
    const counter = new LineCounter();
    const text = readFileSync(file, 'utf8');
    return { root: parseDocument(text, { lineCounter: counter, uniqueKeys: false }).contents, counter };
  } catch {
    return null;
  }
}

function lineIn(root: unknown, counter: LineCounter, pointer: string): number | undefined {
  let node = root;
  let at = isNode(node) ? node.range?.[0] : undefined;
  const tokens = pointer === '/' || pointer === '' ? [] : pointer.slice(1).split('/');
  for (const raw of tokens) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (isMap(node)) {
      const pair = node.items.find((p) => String(isScalar(p.key) ? p.key.value : p.key) === key);
      if (!pair) break;
      at = (isNode(pair.key) ? pair.key.range?.[0] : undefined) ?? at;
      node = pair.value;
    } else if (isSeq(node) && /^\d+$/.test(key) && node.items[Number(key)] !== undefined) {
      node = node.items[Number(key)];
      at = isNode(node) ? (node.range?.[0] ?? at) : at;
    } else break;
  }
  return at === undefined ? undefined : counter.linePos(at).line;
}

function escapePointer(s: string): string {
  return s.replace(/~/g, '~0').replace(/\//g, '~1');
}

/** Turns swagger-parser's error into one line: file, JSON pointer, reason. */
function openApiError(file: string, err: unknown): LuascaleError {
  const e = err as any;
  if (e?.code === 'EMISSINGPOINTER' && typeof e.source === 'string' && typeof e.targetRef === 'string') {
    const at = findRef(file, e.source, e.targetRef);
    if (at)
      return new LuascaleError('LS_ERR_OPENAPI_INVALID', {
        file: at.file,
        pointer: at.pointer,
        reason: `$ref "${at.ref}" does not resolve${e.targetToken ? ` ("${e.targetToken}" does not exist)` : ''}`,
      });
  }
  // A key or $ref with a lone UTF-16 surrogate (a JSON "\ud800") fails inside the parser's URI handling.
  if (e instanceof URIError) {
    const at = findIllFormed(file);
    if (at !== undefined)
      return new LuascaleError('LS_ERR_OPENAPI_INVALID', {
        file,
        pointer: at,
        reason: 'is not valid Unicode (a lone UTF-16 surrogate)',
      });
  }
  // Swagger 2.0's spec check refuses a repeated operationId without saying where: find both.
  const dup = /^Validation failed\. Duplicate operation id '(.*)'$/.exec(String(e?.message ?? ''));
  if (dup) {
    const found = findOperationIds(file, dup[1]!);
    if (found.length >= 2) return duplicateOperationId(file, dup[1]!, found[0]!, found[1]!);
  }
  // A file that cannot be read (ERESOLVER, with its path) or a URL (not fetched): name the $ref.
  const unreadable =
    e?.code === 'ERESOLVER' && typeof e.source === 'string'
      ? resolve(e.source)
      : /^Unable to resolve \$ref pointer "([^"#]+)/.exec(String(e?.message ?? ''))?.[1];
  if (unreadable !== undefined) {
    const remote = /^[a-z][a-z0-9+.-]*:\/\//i.test(unreadable);
    const at = findRefTo(file, (target) => target === unreadable || target.split('#')[0] === unreadable);
    if (at)
      return new LuascaleError('LS_ERR_OPENAPI_INVALID', {
        file: at.file,
        pointer: at.pointer,
        reason: remote
          ? `$ref "${at.ref}" is a URL; luascale resolves $refs in local files only (download it beside the document)`
          : `$ref "${at.ref}" names a file that cannot be read (${e.ioErrorCode ?? e.code ?? 'error'})`,
      });
  }
  // YAML/JSON that does not parse: `Error parsing <file>: <what> (line:column)`.
  const syntax = /^Error parsing (.+?): ([\s\S]*?)(?: \((\d+):(\d+)\))?$/.exec(
    String(e?.message ?? '').split('\n')[0]!,
  );
  if (syntax && e?.code !== 'ERESOLVER')
    return new LuascaleError('LS_ERR_OPENAPI_INVALID', {
      file: resolve(syntax[1]!) === resolve(file) ? file : syntax[1]!,
      pointer: '/',
      reason: `not valid YAML or JSON: ${syntax[2]!.trim()}${syntax[3] ? ` (line ${syntax[3]}, column ${syntax[4]})` : ''}`,
    });
  const detail = Array.isArray(e?.details) ? e.details[0] : undefined;
  let pointer: string =
    detail?.instancePath ??
    (Array.isArray(detail?.path) ? '/' + detail.path.map(String).map(escapePointer).join('/') : '');
  let reason: string = detail?.message ?? String(e?.message ?? err).split('\n')[0];
  if (!pointer) {
    const m = /#(\/[^\s"']*)/.exec(String(e?.message ?? ''));
    if (m) pointer = m[1]!;
  }
  if (e?.code === 'ENOENT' || /ENOENT/.test(String(e?.message))) reason = 'file not found';
  return new LuascaleError('LS_ERR_OPENAPI_INVALID', {
    file,
    pointer: pointer || '/',
    reason: reason.replace(/\s+/g, ' ').trim(),
  });
}

/** The JSON pointer of the first key or string of the root document that is not well-formed UTF-16. */
function findIllFormed(file: string): string | undefined {
  let doc: unknown;
  try {
    doc = parseYaml(readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
  const bad = (v: string) => /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(v);
  const walk = (node: unknown, pointer: string): string | undefined => {
    if (typeof node === 'string') return bad(node) ? pointer || '/' : undefined;
    if (!node || typeof node !== 'object') return undefined;
    for (const [k, v] of Object.entries(node)) {
      const at = `${pointer}/${escapePointer(k)}`;
      if (bad(k)) return at;
      const found = walk(v, at);
      if (found !== undefined) return found;
    }
    return undefined;
  };
  return walk(doc, '');
}

/** JSON pointers of the operations of the root document (as written, `$ref`s not followed) naming `id`. */
function findOperationIds(file: string, id: string): string[] {
  let doc: any;
  try {
    doc = parseYaml(readFileSync(file, 'utf8'));
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const [path, item] of Object.entries<any>(doc?.paths ?? {})) {
    if (!item || typeof item !== 'object') continue;
    for (const method of METHODS)
      if (item[method]?.operationId === id) out.push(`/paths/${escapePointer(path)}/${method}/operationId`);
  }
  return out;
}

/**
 * The first `$ref` whose target (resolved against the file it is written in: an absolute path, or
 * the URL as written) `match` accepts, searching the root document, then the local files it names.
 */
function findRefTo(
  root: string,
  match: (target: string) => boolean,
): { file: string; pointer: string; ref: string } | undefined {
  const files = [resolve(root)];
  for (let i = 0; i < files.length && i < 50; i++) {
    const file = files[i]!;
    let doc: unknown;
    try {
      doc = parseYaml(readFileSync(file, 'utf8'));
    } catch {
      continue;
    }
    const found = walkRefs(doc, '', (ref) => {
      const path = ref.split('#')[0]!;
      if (path === '') return false;
      const remote = /^[a-z][a-z0-9+.-]*:\/\//i.test(path);
      const target = remote ? path : resolve(dirname(file), decodeURIComponent(path));
      if (match(target)) return true;
      if (!remote && !files.includes(target)) files.push(target);
      return false;
    });
    if (found) return { file: file === resolve(root) ? root : file, ...found };
  }
  return undefined;
}

/**
 * Where a `$ref` to `targetFile#targetRef` is written: in the root document, else in the target's
 * own file (a reference inside an external file). Runs only once an import has failed.
 */
function findRef(
  root: string,
  targetFile: string,
  targetRef: string,
): { file: string; pointer: string; ref: string } | undefined {
  const want = `${resolve(targetFile)}${targetRef}`;
  for (const file of new Set([root, targetFile])) {
    let doc: unknown;
    try {
      doc = parseYaml(readFileSync(file, 'utf8'));
    } catch {
      continue;
    }
    const found = walkRefs(doc, '', (ref) => {
      const hash = ref.indexOf('#');
      const path = hash < 0 ? ref : ref.slice(0, hash);
      const fragment = hash < 0 ? '#' : ref.slice(hash);
      const target = path === '' ? resolve(file) : resolve(dirname(file), path);
      return `${target}${decodeURIComponent(fragment)}` === want || `${target}${fragment}` === want;
    });
    if (found) return { file, ...found };
  }
  return undefined;
}

/** The first `$ref` (depth first, in document order) that `match` accepts, with its JSON pointer. */
function walkRefs(
  node: unknown,
  pointer: string,
  match: (ref: string) => boolean,
): { pointer: string; ref: string } | undefined {
  if (!node || typeof node !== 'object') return undefined;
  const ref = (node as { $ref?: unknown }).$ref;
  if (typeof ref === 'string' && match(ref)) return { pointer: pointer || '/', ref };
  for (const [k, v] of Object.entries(node)) {
    const found = walkRefs(v, `${pointer}/${escapePointer(k)}`, match);
    if (found) return found;
  }
  return undefined;
}
