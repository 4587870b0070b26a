/**
 * Optional request validation against a service's OpenAPI document (off by default): path, query
 * and header parameters, and a JSON request body. A failure names the field, e.g.
 * `query.limit: must be integer` or `body.name: must have required property 'name'`.
 * Parameters arrive as strings, so their schemas are checked with type coercion (OpenAPI 3.0 §4.7.12
 * "style: simple/form" values); bodies are checked as they are. 3.0's `nullable` is honoured.
 *
 * A large document has hundreds of operations and most are never called, so nothing is compiled at
 * import: an operation's schemas compile on its first request, and one compiled function serves
 * every operation that shares the schema (a dereferenced `$ref` is one object wherever it is used).
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import type { ImportedOperation } from './import-openapi.js';

/** The parts of a request a validator looks at. */
export interface RequestParts {
  pathParams: Record<string, string>;
  query: URLSearchParams;
  headers: Record<string, string | string[] | undefined>;
  /** Media type of the body, without parameters (e.g. `application/json`). */
  contentType?: string;
  /** The parsed JSON body, when there is one. */
  body?: unknown;
  hasBody: boolean;
}

/**
 * The first problem found, or null when the request is valid. `status: 404`: the request matches no
 * operation of the document (as the OpenAPI validators of Kong and APISIX answer).
 */
export type RequestVerdict = null | { field: string; message: string; status?: 404 };

/** A compiled validator for one operation. */
export type RequestValidator = (parts: RequestParts) => RequestVerdict;

/** Compiled schemas, keyed by the (dereferenced) schema object; shared by the operations using it. */
export interface SchemaCache {
  /** Schemas compiled so far (ajv compilations, the costly part). */
  readonly compiled: number;
  param(schema: object): ValidateFunction | null;
  body(schema: object): ValidateFunction | null;
}

/** A cache with its own ajv instances (one per imported document; tests make their own). */
export function createSchemaCache(): SchemaCache {
  // Made on the first compilation: a gateway that is never asked about the document never pays for
  // them. `validateSchema: false`: checking each schema against the JSON Schema meta-schema first
  // compiles that meta-schema, the larger part of the first request's cost; a schema ajv cannot
  // compile is skipped either way (compileOrSkip).
  let paramAjv: Ajv | undefined;
  let bodyAjv: Ajv | undefined;
  const options = { strict: false, allErrors: false, validateFormats: false, validateSchema: false } as const;
  const params = new WeakMap<object, ValidateFunction | null>();
  const bodies = new WeakMap<object, ValidateFunction | null>();
  const nullable = new WeakMap<object, unknown>();
  let compiled = 0;
  function get(
    map: WeakMap<object, ValidateFunction | null>,
    ajv: () => Ajv,
    schema: object,
    wrap: (s: unknown) => object,
  ): ValidateFunction | null {
    let fn = map.get(schema);
    if (fn === undefined) {
      compiled++;
      fn = compileOrSkip(ajv(), wrap(withNullable(schema, nullable)));
      map.set(schema, fn);
    }
    return fn;
  }
  return {
    get compiled() {
      return compiled;
    },
    // ajv coerces only inside objects and arrays, so a bare parameter value is checked as `{ value }`.
    param: (schema) =>
      get(
        params,
        () => (paramAjv ??= new Ajv({ ...options, coerceTypes: 'array' })),
        schema,
        (s) => ({ type: 'object', properties: { value: s as object } }),
      ),
    body: (schema) =>
      get(
        bodies,
        () => (bodyAjv ??= new Ajv(options)),
        schema,
        (s) => s as object,
      ),
  };
}

const defaultCache = createSchemaCache();
const ANY = {};

interface CompiledParam {
  name: string;
  in: 'path' | 'query' | 'header';
  required: boolean;
  array: boolean;
  /** Checks `{ value }`; null when the schema could not be compiled (not validated then). */
  validate: ValidateFunction | null;
}

/**
 * One operation's validator. Its schemas compile on the first request it checks (through `cache`,
 * so operations sharing a schema share the compiled function), not here.
 */
export function compileRequestValidator(
  op: ImportedOperation,
  options: { cache?: SchemaCache } = {},
): RequestValidator {
  const cache = options.cache ?? defaultCache;
  let compiled: RequestValidator | undefined;
  return function validateRequest(parts) {
    compiled ??= compileNow(op, cache);
    return compiled(parts);
  };
}

/** The verdict for a request that matches none of the document's operations: 404. */
export function noOperationValidator(): RequestValidator {
  return () => ({ field: 'path', message: 'matches no operation of the OpenAPI document', status: 404 });
}

function compileNow(op: ImportedOperation, cache: SchemaCache): RequestValidator {
  const params: CompiledParam[] = [];
  // Path-level parameters apply unless the operation overrides one with the same name and location.
  const all = [...op.pathParameters, ...(op.operation.parameters ?? [])];
  const byKey = new Map<string, any>();
  for (const p of all) if (p && typeof p === 'object' && p.name && p.in) byKey.set(`${p.in}:${p.name}`, p);
  let bodySchema: unknown;
  let bodyRequired = false;
  for (const p of byKey.values()) {
    if (p.in === 'body') {
      // Swagger 2.0 body parameter.
      bodySchema = p.schema;
      bodyRequired = Boolean(p.required);
      continue;
    }
    if (p.in !== 'path' && p.in !== 'query' && p.in !== 'header') continue;
    // 3.x: `schema`; 2.0: the schema keywords sit on the parameter itself.
    const schema =
      p.schema ??
      pick(p, ['type', 'format', 'items', 'enum', 'minimum', 'maximum', 'minLength', 'maxLength', 'pattern']);
    params.push({
      name: p.in === 'header' ? String(p.name).toLowerCase() : String(p.name),
      in: p.in,
      required: p.in === 'path' || Boolean(p.required),
      array: schema?.type === 'array',
      validate: cache.param(schema ?? ANY),
    });
  }
  const content = op.operation.requestBody?.content;
  if (content && typeof content === 'object') {
    const json =
      content['application/json'] ??
      Object.entries<any>(content).find(([k]) => /\+json$|^application\/json/.test(k))?.[1];
    bodySchema = json?.schema;
    bodyRequired = Boolean(op.operation.requestBody?.required);
  }
  const validateBody = bodySchema && typeof bodySchema === 'object' ? cache.body(bodySchema) : null;

  return function validateRequest(parts) {
    for (const p of params) {
      let raw: string | string[] | undefined;
      if (p.in === 'path') raw = parts.pathParams[p.name];
      else if (p.in === 'query')
        raw = p.array ? parts.query.getAll(p.name) : (parts.query.get(p.name) ?? undefined);
      else raw = parts.headers[p.name];
      const missing = raw === undefined || (Array.isArray(raw) && raw.length === 0 && p.array);
      if (missing) {
        if (p.required) return { field: `${p.in}.${p.name}`, message: 'is required' };
        continue;
      }
      const value = p.array && typeof raw === 'string' ? raw.split(',') : raw;
      // Coercion rewrites the value inside the holder, so each check gets a fresh one.
      if (p.validate !== null && !p.validate({ value }))
        return { field: `${p.in}.${p.name}`, message: describe(p.validate.errors) };
    }
    if (validateBody) {
      if (!parts.hasBody) return bodyRequired ? { field: 'body', message: 'is required' } : null;
      if (parts.contentType && !/json/.test(parts.contentType)) return null;
      if (!validateBody(parts.body)) {
        const e = validateBody.errors?.[0];
        const path = e ? e.instancePath.split('/').slice(1).join('.') : '';
        const missing =
          e?.keyword === 'required' ? `.${(e.params as { missingProperty: string }).missingProperty}` : '';
        return { field: `body${path ? `.${path}` : ''}${missing}`, message: describe(validateBody.errors) };
      }
    }
    return null;
  };
}

/**
 * A dereferenced document can be cyclic (a schema that contains itself), which ajv cannot compile
 * from plain objects; such a part is not validated rather than failing the request.
 */
function compileOrSkip(ajv: Ajv, schema: object): ValidateFunction | null {
  try {
    return ajv.compile(schema);
  } catch {
    return null;
  }
}

function describe(errors: ErrorObject[] | null | undefined): string {
  const e = errors?.[0];
  if (!e) return 'is invalid';
  if (e.keyword === 'enum')
    return `must be one of ${JSON.stringify((e.params as { allowedValues: unknown[] }).allowedValues)}`;
  return e.message ?? 'is invalid';
}

function pick(obj: Record<string, unknown>, keys: string[]): Record<string, unknown> | undefined {
  const out: Record<string, unknown> = {};
  for (const k of keys) if (obj[k] !== undefined) out[k] = obj[k];
  return Object.keys(out).length ? out : undefined;
}

/** OpenAPI 3.0 `nullable: true` → JSON Schema `type: [T, "null"]` (3.1 documents already use the latter). */
function withNullable(schema: unknown, seen: WeakMap<object, unknown>): unknown {
  if (!schema || typeof schema !== 'object') return schema;
  if (seen.has(schema)) return seen.get(schema);
  if (Array.isArray(schema)) {
    const arr: unknown[] = [];
    seen.set(schema, arr);
    for (const s of schema) arr.push(withNullable(s, seen));
    return arr;
  }
  const out: Record<string, unknown> = {};
  seen.set(schema, out);
  for (const [k, v] of Object.entries(schema)) out[k] = withNullable(v, seen);
  if (out.nullable === true && typeof out.type === 'string') out.type = [out.type, 'null'];
  delete out.nullable;
  return out;
}
