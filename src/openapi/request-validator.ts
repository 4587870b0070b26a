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
import type { ErrorObject, ValidateFunction } from 'ajv';
import { FORM_MEDIA_TYPE, isJsonMediaType } from '../core/media-types.js';
import type { ImportedOperation, SchemaDialect } from './import-openapi.js';
import { createSchemaCache, type SchemaCache } from './schema-cache.js';

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
/** A failed check: 400 by default; 404 no operation; 415 a body of a media type the operation does not take. */
export type RequestVerdict = null | { field: string; message: string; status?: 404 | 415 };

/** A compiled validator for one operation. */
export type RequestValidator = (parts: RequestParts) => RequestVerdict;

const defaultCache = createSchemaCache();
/** The schema keywords a Swagger 2.0 parameter (not `in: body`) writes on itself. */
const SWAGGER2_PARAM_KEYWORDS = [
  'type',
  'format',
  'items',
  'enum',
  'minimum',
  'maximum',
  'exclusiveMinimum',
  'exclusiveMaximum',
  'multipleOf',
  'minLength',
  'maxLength',
  'pattern',
  'minItems',
  'maxItems',
  'uniqueItems',
  'x-nullable',
];
const ANY = {};

interface CompiledParam {
  name: string;
  in: 'path' | 'query' | 'header' | 'cookie';
  required: boolean;
  /** How the value is written (OpenAPI 3 `style`/`explode`, 2.0 `collectionFormat`). */
  shape: 'scalar' | 'array' | 'object';
  /** Array items (or object `key,value` pairs) in one value are separated by this; '' = never split. */
  delimiter: string;
  /** What a path value in style `label` (`.`) or `matrix` (`;name=`) starts with; '' for others. */
  prefix: string;
  /** A query object as `name[key]=value` (style deepObject). */
  deepObject: boolean;
  /** The declared property names of an object written `key=value&...` (style form, explode). */
  properties: string[];
  /** Checks `{ value }`; null when the schema could not be compiled (not validated then). */
  validate: ValidateFunction | null;
}

/** 2.0 `collectionFormat` → delimiter ('' for `multi`: one query entry per item). */
const COLLECTION: Record<string, string> = { csv: ',', ssv: ' ', tsv: '\t', pipes: '|', multi: '' };
/** 3.x array `style` → delimiter when not exploded. */
const STYLE: Record<string, string> = { form: ',', simple: ',', spaceDelimited: ' ', pipeDelimited: '|' };
/**
 * Headers whose parameter definitions OpenAPI says to ignore (3.0 §4.7.12.1 "Accept, Content-Type
 * or Authorization"): they are described by the content, the responses and the security schemes.
 */
const IGNORED_HEADERS = new Set(['accept', 'content-type', 'authorization']);

function compileParam(p: any, schema: any, validate: ValidateFunction | null): CompiledParam {
  const types: unknown[] = Array.isArray(schema?.type) ? schema.type : [schema?.type];
  const shape = types.includes('array')
    ? 'array'
    : types.includes('object') || (schema?.properties && !schema?.type)
      ? 'object'
      : 'scalar';
  const style: string = p.style ?? (p.in === 'query' || p.in === 'cookie' ? 'form' : 'simple');
  const explode: boolean = p.explode ?? style === 'form';
  let delimiter: string;
  if (p.schema === undefined) delimiter = COLLECTION[p.collectionFormat ?? 'csv'] ?? ',';
  else delimiter = explode && p.in === 'query' ? '' : (STYLE[style] ?? ',');
  // Path styles of OpenAPI 3 §4.8.12.4: label `/.3.4` (exploded) or `/.3,4`; matrix `/;id=3;id=4`
  // (exploded) or `/;id=3,4`.
  let prefix = '';
  if (p.in === 'path' && style === 'label') {
    prefix = '.';
    if (explode) delimiter = '.';
  } else if (p.in === 'path' && style === 'matrix') {
    prefix = `;${p.name}=`;
    if (explode) delimiter = prefix;
  }
  return {
    name: p.in === 'header' ? String(p.name).toLowerCase() : String(p.name),
    in: p.in,
    required: p.in === 'path' || Boolean(p.required),
    shape,
    delimiter,
    prefix,
    deepObject: style === 'deepObject',
    properties:
      shape === 'object' && schema?.properties && typeof schema.properties === 'object'
        ? Object.keys(schema.properties)
        : [],
    validate,
  };
}

/** The parameter's value as the request writes it, or undefined when it is absent. */
function readParam(p: CompiledParam, parts: RequestParts): unknown {
  let raw: string | string[] | undefined;
  if (p.in === 'path') {
    raw = parts.pathParams[p.name];
    // `;id` alone is matrix style's empty value.
    if (raw !== undefined && p.prefix !== '')
      raw = raw === p.prefix.slice(0, -1) ? '' : raw.startsWith(p.prefix) ? raw.slice(p.prefix.length) : raw;
  } else if (p.in === 'header') raw = parts.headers[p.name];
  else if (p.in === 'cookie') raw = cookie(parts.headers.cookie, p.name);
  else if (p.shape === 'object' && (p.deepObject || (p.delimiter === '' && p.properties.length))) {
    const obj: Record<string, string> = {};
    let found = false;
    for (const [k, v] of parts.query) {
      const key = p.deepObject
        ? k.startsWith(`${p.name}[`) && k.endsWith(']')
          ? k.slice(p.name.length + 1, -1)
          : undefined
        : p.properties.includes(k)
          ? k
          : undefined;
      if (key !== undefined) {
        obj[key] = v;
        found = true;
      }
    }
    return found ? obj : undefined;
  } else {
    const all = parts.query.getAll(p.name);
    raw = all.length === 0 ? undefined : p.shape === 'array' ? all : all[0];
  }
  if (raw === undefined) return undefined;
  if (p.shape === 'array') {
    const items = Array.isArray(raw) ? raw : [raw];
    return p.delimiter === '' ? items : items.flatMap((v) => v.split(p.delimiter));
  }
  if (p.shape === 'object' && p.delimiter !== '') {
    // `k1,v1,k2,v2` (style form or simple, not exploded).
    const bits = (Array.isArray(raw) ? raw.join(',') : raw).split(p.delimiter);
    const obj: Record<string, string> = {};
    for (let i = 0; i + 1 < bits.length; i += 2) obj[bits[i]!] = bits[i + 1]!;
    return obj;
  }
  return Array.isArray(raw) ? raw[0] : raw;
}

/** The value of cookie `name` in a Cookie header (RFC 6265 §5.4: `a=1; b=2`). */
function cookie(header: string | string[] | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  for (const pair of (Array.isArray(header) ? header.join('; ') : header).split(';')) {
    const eq = pair.indexOf('=');
    if (eq > 0 && pair.slice(0, eq).trim() === name) return pair.slice(eq + 1).trim();
  }
  return undefined;
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
    try {
      return compiled(parts);
    } catch (err) {
      // A body nested deeper than the stack (against a recursive schema): refused, not a crash.
      if (err instanceof RangeError) return { field: 'body', message: 'is nested too deeply to check' };
      return { field: 'request', message: `could not be checked (${String(err).slice(0, 80)})` };
    }
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
    if (!['path', 'query', 'header', 'cookie'].includes(p.in)) continue;
    // A path parameter the template does not name can never be sent (a slip some documents have).
    if (p.in === 'path' && !op.path.includes(`{${p.name}}`)) continue;
    if (p.in === 'header' && IGNORED_HEADERS.has(String(p.name).toLowerCase())) continue;
    // 3.x: `schema` (or `content`, not checked); 2.0: the schema keywords sit on the parameter.
    const schema = p.schema ?? (p.content ? undefined : pick(p, SWAGGER2_PARAM_KEYWORDS));
    // A 3.1 boolean schema (`schema: true`) accepts anything.
    const validate = cache.param(schema && typeof schema === 'object' ? schema : ANY, op.schemaDialect);
    params.push(compileParam(p, schema, validate));
  }
  // 3.x: the media types the body may have, lower case without parameters → their schema.
  const media = new Map<string, unknown>();
  const content = op.operation.requestBody?.content;
  if (content && typeof content === 'object') {
    for (const [type, m] of Object.entries<any>(content))
      media.set(type.split(';')[0]!.trim().toLowerCase(), m?.schema);
    bodyRequired = Boolean(op.operation.requestBody?.required);
  }
  // 2.0: the body parameter's schema, checked when the body is JSON.
  const validateBody =
    bodySchema && typeof bodySchema === 'object' ? cache.body(bodySchema, op.schemaDialect) : null;

  return function validateRequest(parts) {
    for (const p of params) {
      const value = readParam(p, parts);
      if (value === undefined) {
        if (p.required) return { field: `${p.in}.${p.name}`, message: 'is required' };
        continue;
      }
      // Coercion rewrites the value inside the holder, so each check gets a fresh one.
      if (p.validate !== null && !p.validate({ value }))
        return { field: `${p.in}.${p.name}`, message: describe(p.validate.errors) };
    }
    if (!parts.hasBody) return bodyRequired ? { field: 'body', message: 'is required' } : null;
    if (media.size > 0) return checkMedia(media, parts, { cache, dialect: op.schemaDialect });
    if (validateBody && (!parts.contentType || isJsonMediaType(parts.contentType)))
      return checkBody(validateBody, parts.body);
    return null;
  };
}

/**
 * A 3.x body against the operation's `requestBody.content`: its media type must be listed (exactly,
 * or through `type/*` or `*\/*`), else the body would pass unchecked by changing its Content-Type;
 * a JSON body is checked against that media type's schema (`merge-patch+json` against its own).
 */
function checkMedia(
  media: Map<string, unknown>,
  parts: RequestParts,
  { cache, dialect }: { cache: SchemaCache; dialect: SchemaDialect | undefined },
): RequestVerdict {
  const ct = parts.contentType;
  const listed = JSON.stringify([...media.keys()]);
  if (!ct)
    return {
      field: 'header.content-type',
      message: `is required with a body (one of ${listed})`,
      status: 415,
    };
  const json = isJsonMediaType(ct);
  // A JSON body is taken for a JSON type the document lists (`application/json` for a vendor
  // `+json` one, and the other way round): clients send either.
  const key =
    [ct, `${ct.split('/')[0]}/*`, '*/*'].find((k) => media.has(k)) ??
    (json ? [...media.keys()].find((k) => isJsonMediaType(k)) : undefined);
  // RFC 9110 §15.5.16: a content the resource does not take is 415, not a malformed request.
  if (key === undefined)
    return { field: 'header.content-type', message: `must be one of ${listed}`, status: 415 };
  const schema = media.get(key);
  if (!schema || typeof schema !== 'object') return null;
  if (ct === FORM_MEDIA_TYPE && typeof parts.body === 'string') {
    // Form fields are strings: checked with coercion, as parameters are.
    const validate = cache.form(schema, dialect);
    return validate === null ? null : checkBody(validate, parseForm(parts.body));
  }
  if (!json) return null;
  const validate = cache.body(schema, dialect);
  return validate === null ? null : checkBody(validate, parts.body);
}

/** How deep `a[b][c]` keys of a form body nest (Stripe's bodies go 3-4 levels). */
const FORM_DEPTH = 8;

/**
 * An `application/x-www-form-urlencoded` body as an object: a repeated name is an array, and
 * `a[b]=1`, `a[]=1`, `a[0][b]=1` nest as objects and arrays (the bracket notation of Stripe's and
 * Rails' APIs, OpenAPI's `deepObject`); deeper than FORM_DEPTH the rest of the key stays one name.
 */
export function parseForm(text: string): Record<string, unknown> {
  const root: Record<string, unknown> = Object.create(null);
  for (const [key, value] of new URLSearchParams(text)) {
    const m = /^([^[\]]+)((?:\[[^[\]]*\])+)$/.exec(key);
    const path = m ? [m[1]!, ...m[2]!.slice(1, -1).split('][')] : [key];
    if (path.length > FORM_DEPTH)
      path.splice(FORM_DEPTH - 1, Infinity, path.slice(FORM_DEPTH - 1).join(']['));
    let node: any = root;
    for (let i = 0; i < path.length; i++) {
      const last = i === path.length - 1;
      let k: string | number = path[i]!;
      if (Array.isArray(node)) k = k === '' ? node.length : /^\d{1,4}$/.test(k) ? Number(k) : node.length;
      if (last) {
        const had = node[k];
        node[k] = had === undefined ? value : Array.isArray(had) ? [...had, value] : [had, value];
      } else {
        const next = path[i + 1]!;
        if (node[k] === undefined || typeof node[k] !== 'object')
          node[k] = next === '' || /^\d{1,4}$/.test(next) ? [] : Object.create(null);
        node = node[k];
      }
    }
  }
  return root;
}

function checkBody(validate: ValidateFunction, body: unknown): RequestVerdict {
  if (validate(body)) return null;
  const e = validate.errors?.[0];
  const path = e ? e.instancePath.split('/').slice(1).join('.') : '';
  const missing =
    e?.keyword === 'required' ? `.${(e.params as { missingProperty: string }).missingProperty}` : '';
  return { field: `body${path ? `.${path}` : ''}${missing}`, message: describe(validate.errors) };
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
