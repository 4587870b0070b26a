/**
 * The JSON Schemas of an OpenAPI document's requests, compiled by ajv: each schema object compiled
 * once (on its first use) and shared by every operation that uses it, and the conversion of an
 * OpenAPI schema object (2.0, 3.0, 3.1) to the JSON Schema ajv checks (`toJsonSchema`).
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { Ajv2020 } from 'ajv/dist/2020.js';
import formats from 'ajv-formats';
import type { SchemaDialect } from './import-openapi.js';

/** Compiled schemas, keyed by the (dereferenced) schema object; shared by the operations using it. */
export interface SchemaCache {
  /** Schemas compiled so far (ajv compilations, the costly part). */
  readonly compiled: number;
  /** `dialect`: the JSON Schema of the document (OpenAPI 3.1: 2020-12; before: draft 7 is close). */
  param(schema: object, dialect?: SchemaDialect): ValidateFunction | null;
  body(schema: object, dialect?: SchemaDialect): ValidateFunction | null;
  /** A form body's schema, checked with coercion (every field arrives as a string). */
  form(schema: object, dialect?: SchemaDialect): ValidateFunction | null;
}

/** A cache with its own ajv instances (one per imported document; tests make their own). */
export function createSchemaCache(): SchemaCache {
  // Made on the first compilation: a gateway that is never asked about the document never pays for
  // them. `validateSchema: false`: checking each schema against the JSON Schema meta-schema first
  // compiles that meta-schema, the larger part of the first request's cost; a schema ajv cannot
  // compile is skipped either way (compileOrSkip).
  const ajvs = new Map<string, { ajv: Ajv; shared: SharedSchemas }>();
  const ajv = (dialect: SchemaDialect, coerce: boolean) => {
    const key = `${dialect}:${coerce}`;
    let a = ajvs.get(key);
    if (a === undefined) {
      const Class = dialect === '2020-12' ? Ajv2020 : Ajv;
      const instance = new Class({ ...options, ...(coerce ? { coerceTypes: 'array' as const } : {}) });
      addFormats(instance);
      a = { ajv: instance, shared: sharedSchemas(instance) };
      ajvs.set(key, a);
    }
    return a;
  };
  const options = {
    strict: false,
    allErrors: false,
    // `format`s are checked (date-time, uuid, email, uri, int32/int64, byte, ...: ajv-formats); one
    // ajv-formats does not know (Twilio's phone-number) is ignored, and not logged (`logger`).
    validateFormats: true,
    logger: false,
    validateSchema: false,
    inlineRefs: false,
  } as const;
  const params = new WeakMap<object, ValidateFunction | null>();
  const bodies = new WeakMap<object, ValidateFunction | null>();
  const forms = new WeakMap<object, ValidateFunction | null>();
  let compiled = 0;
  function get(
    map: WeakMap<object, ValidateFunction | null>,
    ajv: () => { ajv: Ajv; shared: SharedSchemas },
    schema: object,
    wrap: (s: object, shared: SharedSchemas) => object,
  ): ValidateFunction | null {
    let fn = map.get(schema);
    if (fn === undefined) {
      compiled++;
      const a = ajv();
      fn = compileOrSkip(a.ajv, () => wrap(schema, a.shared));
      map.set(schema, fn);
    }
    return fn;
  }
  return {
    get compiled() {
      return compiled;
    },
    // ajv coerces only inside objects and arrays, so a bare parameter value is checked as `{ value }`.
    param: (schema, dialect = 'draft-07') =>
      get(
        params,
        () => ajv(dialect, true),
        schema,
        // Parameter schemas are small; theirs stay local (`definitions`), so coercion reaches them.
        (s) => {
          const { root, definitions } = convertSchema(s, true);
          return { type: 'object', properties: { value: root }, ...(definitions ? { definitions } : {}) };
        },
      ),
    form: (schema, dialect = 'draft-07') =>
      get(
        forms,
        () => ajv(dialect, true),
        schema,
        (s) => {
          const { root, definitions } = convertSchema(s, true);
          return definitions ? { allOf: [root], definitions } : root;
        },
      ),
    body: (schema, dialect = 'draft-07') =>
      get(
        bodies,
        () => ajv(dialect, false),
        schema,
        (s, shared) => convertSchema(s, true, shared).root,
      ),
  };
}

// ajv-formats is CommonJS: its function is the default export, or that export's `default`.
const addFormats = ((formats as unknown as { default?: unknown }).default ?? formats) as unknown as (
  ajv: Ajv,
) => Ajv;

/**
 * A dereferenced document can be cyclic (a schema that contains itself), which ajv cannot compile
 * from plain objects; such a part is not validated rather than failing the request.
 */
function compileOrSkip(ajv: Ajv, schema: () => object): ValidateFunction | null {
  try {
    return ajv.compile(schema());
  } catch {
    return null;
  }
}

let nextShared = 0;

/** Keywords whose value is one schema, a list of schemas, or a map of name → schema. */
const ONE = ['items', 'additionalItems', 'additionalProperties', 'not', 'if', 'then', 'else', 'contains'];
const ONE_MORE = ['propertyNames', 'unevaluatedItems', 'unevaluatedProperties', 'contentSchema'];
const LIST = ['allOf', 'anyOf', 'oneOf', 'prefixItems'];
const MAP = ['properties', 'patternProperties', 'definitions', '$defs', 'dependentSchemas'];

/**
 * An OpenAPI schema object (2.0, 3.0 or 3.1, `$ref`s already replaced by what they point at) as the
 * JSON Schema ajv checks a request against:
 * - 3.0 `nullable: true` / 2.0 `x-nullable: true` → `type: [T, "null"]` (and null added to an `enum`);
 * - 2.0/3.0 boolean `exclusiveMinimum`/`exclusiveMaximum` → the number form (draft 6 and later);
 * - a `readOnly` property is not required in a request (OpenAPI 3.0 §4.7.25 "readOnly");
 * - `oneOf` with a `discriminator`: `anyOf` (a subtype also matches its siblings' looser schemas,
 *   which plain `oneOf` would refuse);
 * - a schema reached twice (a recursive schema, or one shared through a `$ref`) becomes one
 *   definition referenced by `$ref`, so a recursive schema compiles and a shared one compiles once.
 * Only schema positions are walked (a `properties` map or an `enum` list is not a schema).
 */
export function toJsonSchema(schema: unknown, options: { request: boolean }): object {
  const { root, definitions } = convertSchema(schema, options.request);
  // `$ref` beside other keywords is ignored in draft 7: the root goes one level down.
  return definitions ? { allOf: [root], definitions } : root;
}

/**
 * Where shared schemas go when one ajv instance checks many operations: each is added to it once
 * (under a name of its own) and every operation's schema refers to it, so a document whose schemas
 * reference each other (Stripe's, GitHub's) compiles each of them once, not once per operation.
 */
interface SharedSchemas {
  names: WeakMap<object, string>;
  add(name: string, schema: object): void;
}

/**
 * A keyword standing for a shared schema: it calls that schema's own compiled function (compiled on
 * first use), with its errors' paths made relative to the data checked. A `$ref` would not do: ajv
 * compiles a schema added by name again for every schema referring to it (~50 ms an operation for
 * a document whose schemas all reach each other).
 */
// Not an x-luascale-* name: those are the document extensions users write (README, OpenAPI).
const SHARED_KEYWORD = 'luascale:shared';
type SharedFn = ((
  name: string,
  data: unknown,
  schema: unknown,
  cxt?: { instancePath: string },
) => boolean) & {
  errors?: ErrorObject[];
};

function sharedSchemas(ajv: Ajv): SharedSchemas {
  const schemas = new Map<string, object>();
  const compiled = new Map<string, ValidateFunction>();
  const validate: SharedFn = (name, data, _schema, cxt) => {
    let fn = compiled.get(name);
    if (fn === undefined) {
      fn = ajv.compile(schemas.get(name)!);
      compiled.set(name, fn);
    }
    if (fn(data)) return true;
    const at = cxt?.instancePath ?? '';
    validate.errors = (fn.errors ?? []).map((e) => ({ ...e, instancePath: at + e.instancePath }));
    return false;
  };
  ajv.addKeyword({
    keyword: SHARED_KEYWORD,
    schemaType: 'string',
    errors: true,
    validate,
  });
  return { names: new WeakMap(), add: (name, schema) => schemas.set(name, schema) };
}

function convertSchema(
  schema: unknown,
  request: boolean,
  registry?: SharedSchemas,
): { root: object; definitions?: Record<string, unknown> } {
  const uses = new Map<object, number>();
  const definitions: Record<string, unknown> = {};
  const ref = new Map<object, string>();
  // Pass 1: how often each schema object is reached at a schema position.
  const count = (s: unknown): void => {
    if (!s || typeof s !== 'object' || Array.isArray(s)) return;
    const n = (uses.get(s) ?? 0) + 1;
    uses.set(s, n);
    if (n > 1) return;
    forEachSubschema(s as Record<string, unknown>, count);
  };
  count(schema);
  const convert = (s: unknown): unknown => {
    if (!s || typeof s !== 'object' || Array.isArray(s)) return s;
    const shared = (uses.get(s) ?? 0) > 1;
    if (shared && registry) {
      let name = registry.names.get(s);
      if (name === undefined) {
        name = `luascale:schema:${nextShared++}`;
        registry.names.set(s, name);
        registry.add(name, convertOne(s as Record<string, unknown>));
      }
      return { [SHARED_KEYWORD]: name };
    }
    if (shared) {
      let name = ref.get(s);
      if (name === undefined) {
        name = `s${ref.size}`;
        ref.set(s, name);
        definitions[name] = convertOne(s as Record<string, unknown>);
      }
      return { $ref: `#/definitions/${name}` };
    }
    return convertOne(s as Record<string, unknown>);
  };
  const convertOne = (s: Record<string, unknown>): Record<string, unknown> => {
    const o: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(s)) {
      if (ONE.includes(k) || ONE_MORE.includes(k))
        o[k] = Array.isArray(v) ? v.map(convert) : convert(v); // `items` may be a list (draft 4)
      else if (LIST.includes(k)) o[k] = Array.isArray(v) ? v.map(convert) : v;
      else if (MAP.includes(k) && v && typeof v === 'object' && !Array.isArray(v))
        o[k] = Object.fromEntries(Object.entries(v).map(([name, sub]) => [name, convert(sub)]));
      else o[k] = v;
    }
    fixKeywords(s, o, request);
    return o;
  };
  const root = (convert(schema) ?? {}) as object;
  return ref.size === 0 ? { root } : { root, definitions };
}

function forEachSubschema(s: Record<string, unknown>, fn: (sub: unknown) => void): void {
  for (const [k, v] of Object.entries(s)) {
    if (ONE.includes(k) || ONE_MORE.includes(k) || LIST.includes(k)) {
      if (Array.isArray(v)) v.forEach(fn);
      else fn(v);
    } else if (MAP.includes(k) && v && typeof v === 'object' && !Array.isArray(v))
      Object.values(v).forEach(fn);
  }
}

/** The keyword rewrites of `toJsonSchema` for one schema object (`s` as written, `o` the copy). */
function fixKeywords(s: Record<string, unknown>, o: Record<string, unknown>, request: boolean): void {
  if (s.nullable === true || s['x-nullable'] === true) {
    if (typeof o.type === 'string') o.type = [o.type, 'null'];
    else if (Array.isArray(o.type) && !o.type.includes('null')) o.type = [...o.type, 'null'];
    if (Array.isArray(o.enum) && !o.enum.includes(null)) o.enum = [...o.enum, null];
  }
  delete o.nullable;
  for (const [flag, bound] of [
    ['exclusiveMinimum', 'minimum'],
    ['exclusiveMaximum', 'maximum'],
  ] as const) {
    if (typeof s[flag] !== 'boolean') continue;
    if (s[flag] === true && typeof s[bound] === 'number') {
      o[flag] = s[bound];
      delete o[bound];
    } else delete o[flag];
  }
  if (request && Array.isArray(s.required) && s.properties && typeof s.properties === 'object') {
    const props = s.properties as Record<string, { readOnly?: unknown } | undefined>;
    const required = s.required.filter((name) => props[String(name)]?.readOnly !== true);
    if (required.length !== s.required.length) o.required = required;
  }
  if (s.discriminator && typeof s.discriminator === 'object' && Array.isArray(o.oneOf)) {
    o.anyOf = o.oneOf;
    delete o.oneOf;
  }
}
