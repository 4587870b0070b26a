/**
 * Applies JSON Schema `default`s to a value that already validated, recursing into objects,
 * records (patternProperties), arrays and the union member that the value belongs to.
 * (ajv's `useDefaults` ignores defaults inside anyOf branches, and TypeBox's Value.Default
 * skips record values, so neither fills `services.*.provider.process.*`.)
 */
type Schema = Record<string, any>;

/** Returns a deep copy of `value` with every missing defaulted property filled in. */
export function applyDefaults(schema: Schema, value: unknown): unknown {
  if (schema.anyOf) {
    const member = (schema.anyOf as Schema[]).find((s) => matchesShape(s, value));
    return member ? applyDefaults(member, value) : value;
  }
  if (Array.isArray(value)) {
    return schema.items ? value.map((v) => applyDefaults(schema.items, v)) : value;
  }
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = { ...(value as Record<string, unknown>) };
  for (const [key, prop] of Object.entries((schema.properties ?? {}) as Record<string, Schema>)) {
    if (out[key] === undefined && 'default' in prop) out[key] = structuredClone(prop.default);
    if (out[key] !== undefined) out[key] = applyDefaults(prop, out[key]);
  }
  if (schema.patternProperties) {
    const [pattern, prop] = Object.entries(schema.patternProperties as Record<string, Schema>)[0]!;
    const re = new RegExp(pattern);
    for (const key of Object.keys(out)) if (re.test(key)) out[key] = applyDefaults(prop, out[key]);
  }
  return out;
}

/** Cheap structural match used to pick a union member for an already-valid value. */
function matchesShape(schema: Schema, value: unknown): boolean {
  if (schema.type === 'string') return typeof value === 'string';
  if (schema.type === 'number' || schema.type === 'integer') return typeof value === 'number';
  if (schema.type === 'boolean') return typeof value === 'boolean';
  if (schema.const !== undefined) return schema.const === value;
  if (schema.type === 'object') {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
    const props = Object.keys(schema.properties ?? {});
    const required: string[] = schema.required ?? [];
    return (
      required.every((k) => k in value) &&
      (schema.additionalProperties !== false || Object.keys(value).every((k) => props.includes(k)))
    );
  }
  return false;
}

/** Recursively freezes a value (the loaded config is immutable). */
export function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
