/**
 * The result of checking or translating a request body: the value, or the first bad field as a
 * JSON path (`messages[2].content`) with a one-line message. Bad input is an expected outcome, so
 * it is a value, not an exception; the front door answers it in the client's own error format.
 */
export type Checked<T> = { ok: true; value: T } | { ok: false; field: string; message: string };

/** A plain JSON object. */
export type JsonObject = Record<string, unknown>;

/** A failed check naming `field`. */
export function fail(field: string, message: string): { ok: false; field: string; message: string } {
  return { ok: false, field, message };
}

/** True for a non-null, non-array object. */
export function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** `JSON.parse` that returns undefined instead of throwing. */
export function tryParseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
