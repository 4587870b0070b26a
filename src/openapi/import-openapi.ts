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
import { resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { LuascaleError } from '../core/errors.js';
import type { Slo } from '../policy/policy.js';
import { escapePointer, lineLocator, lineOf } from './document-lines.js';
import { extensions, merge, show } from './luascale-extensions.js';
import { openApiError, withLine } from './openapi-error.js';
import { METHODS, METHODS_32 } from './operation-methods.js';
import { encodeTemplate, joinPath, nonEmpty, normaliseBase, serverBase } from './server-base.js';

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

/** `get /users/{id}/posts` → `get_users_id_posts` (letters and digits of any script kept). */
export function deriveOperationId(method: string, path: string): string {
  const words = path
    .split('/')
    .filter(Boolean)
    .map((s) => s.replace(/[{}]/g, '').replace(/[^\p{L}\p{N}]+/gu, '_'))
    .filter(Boolean);
  return [method.toLowerCase(), ...words].join('_') || method.toLowerCase();
}
