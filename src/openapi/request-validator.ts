/**
 * Optional request validation against a service's OpenAPI document (off by default): path, query
 * and header parameters, and a JSON request body. A failure names the field, e.g.
 * `query.limit: must be integer` or `body.name: must have required property 'name'`.
 * Parameters arrive as strings, so their schemas are checked with type coercion (OpenAPI 3.0 §4.7.12
 * "style: simple/form" values); bodies are checked as they are. 3.0's `nullable` is honoured.
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

/** The first problem found, or null when the request is valid. */
export type RequestVerdict = null | { field: string; message: string };

/** A compiled validator for one operation. */
export type RequestValidator = (parts: RequestParts) => RequestVerdict;

const paramAjv = new Ajv({ strict: false, coerceTypes: 'array', allErrors: false, validateFormats: false });
const bodyAjv = new Ajv({ strict: false, allErrors: false, validateFormats: false });

interface CompiledParam {
  name: string;
  in: 'path' | 'query' | 'header';
  required: boolean;
  array: boolean;
  validate: ValidateFunction;
}

/** Compiles one operation's validator (once, at import time). */
export function compileRequestValidator(op: ImportedOperation): RequestValidator {
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
      validate: compileOrSkip(paramAjv, schema ?? {}) ?? paramAjv.compile({}),
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
  const validateBody = bodySchema ? compileOrSkip(bodyAjv, bodySchema) : null;

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
      // Coercion rewrites the value inside a holder object, so validate `{ v }`'s property.
      const value = p.array && typeof raw === 'string' ? raw.split(',') : raw;
      if (!validateProp(p.validate, { value }))
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

/** ajv coerces only inside objects and arrays, so a bare parameter value is wrapped in `{ value }`. */
const wrappers = new WeakMap<ValidateFunction, ValidateFunction>();
function validateProp(inner: ValidateFunction, data: { value: unknown }): boolean {
  let outer = wrappers.get(inner);
  if (!outer) {
    outer = paramAjv.compile({ type: 'object', properties: { value: inner.schema as object } });
    wrappers.set(inner, outer);
  }
  const ok = outer(data);
  inner.errors =
    outer.errors?.map((e) => ({ ...e, instancePath: e.instancePath.replace(/^\/value/, '') })) ?? null;
  return ok;
}

/**
 * A dereferenced document can be cyclic (a schema that contains itself), which ajv cannot compile
 * from plain objects; such a part is not validated rather than failing the import.
 */
function compileOrSkip(ajv: Ajv, schema: unknown): ValidateFunction | null {
  try {
    return ajv.compile(withNullable(schema) as object);
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
function withNullable(schema: unknown, seen = new WeakMap<object, unknown>()): unknown {
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
