/**
 * Moving JSON-like values between JS and a Lua state through the raw C API (no wasmoon proxies).
 * Pushing runs inside a protected call (a host C function), so a memory-cap hit is a Lua error;
 * reading uses only `lua_next`, `lua_type` and `lua_to*` on tables the host owns, which neither
 * allocate nor run metamethods, so it is safe outside a protected call.
 */
import type { LuaWasm } from 'wasmoon';
import { luaString, rawApi } from './raw-lua.js';

const T_NIL = 0;
const T_BOOLEAN = 1;
const T_NUMBER = 3;
const T_STRING = 4;
const T_TABLE = 5;

/** Bounds on a value copied out of Lua (ctx.state). */
export interface ReadBounds {
  /** Total table entries over the whole value. */
  maxEntries: number;
  /** Table nesting depth. */
  maxDepth: number;
  /** Bytes per string. */
  maxString: number;
}

/** Why a Lua value could not be copied out. */
export class LuaValueError extends Error {}

/** Reads a NUL-terminated UTF-8 string from wasm memory. */
export function readCString(lua: LuaWasm, ptr: number): string {
  const heap = rawApi(lua).HEAPU8;
  let end = ptr;
  while (heap[end] !== 0) end++;
  return decoder.decode(heap.subarray(ptr, end));
}

const decoder = new TextDecoder();

/** Pushes a number, as a Lua integer when it is whole (so Lua prints 85, not 85.0). */
export function pushNumberValue(lua: LuaWasm, L: number, n: number): void {
  const m = rawApi(lua);
  if (Number.isSafeInteger(n)) m._lua_pushinteger(L, BigInt(n));
  else m._lua_pushnumber(L, n);
}

/** A key that readLuaTable wrote for a Lua integer key: canonical decimal, a safe integer. */
const INTEGER_KEY = /^-?(?:0|[1-9][0-9]{0,15})$/;

/** Whether readLuaTable would have written `key` for an integer key (so it reads back as one). */
export function isIntegerKey(key: string): boolean {
  return INTEGER_KEY.test(key) && Number.isSafeInteger(Number(key)) && key !== '-0';
}

/**
 * Pushes a JSON-like JS value (objects, arrays, numbers, strings, booleans, null → nil). With
 * `integerKeys` (ctx.state), an object key spelled as an integer becomes a Lua integer key: the
 * inverse of readLuaTable.
 */
export function pushJsValue(lua: LuaWasm, L: number, value: unknown, depth = 0, integerKeys = false): void {
  const m = rawApi(lua);
  if (value === null || value === undefined) return m._lua_pushnil(L);
  switch (typeof value) {
    case 'number':
      return pushNumberValue(lua, L, value);
    case 'boolean':
      return m._lua_pushboolean(L, value ? 1 : 0);
    case 'string':
      lua.lua_pushstring(L, value);
      return;
    case 'bigint':
      return m._lua_pushnumber(L, Number(value));
    case 'object': {
      if (depth > 32) return m._lua_pushnil(L);
      m._lua_checkstack(L, 4);
      if (Array.isArray(value)) {
        m._lua_createtable(L, value.length, 0);
        for (let i = 0; i < value.length; i++) {
          pushJsValue(lua, L, value[i], depth + 1, integerKeys);
          m._lua_rawseti(L, -2, BigInt(i + 1));
        }
        return;
      }
      const entries = Object.entries(value as Record<string, unknown>);
      m._lua_createtable(L, 0, entries.length);
      for (const [k, v] of entries) {
        if (integerKeys && isIntegerKey(k)) m._lua_pushinteger(L, BigInt(k));
        else lua.lua_pushstring(L, k);
        pushJsValue(lua, L, v, depth + 1, integerKeys);
        m._lua_rawset(L, -3);
      }
      return;
    }
    default:
      return m._lua_pushnil(L);
  }
}

/** Pushes an array of numbers as a Lua sequence: floats, or (`counts`) integers when whole. */
export function pushNumberArray(lua: LuaWasm, L: number, values: ArrayLike<number>, counts = false): void {
  const m = rawApi(lua);
  m._lua_createtable(L, values.length, 0);
  for (let i = 0; i < values.length; i++) {
    if (counts) pushNumberValue(lua, L, values[i]!);
    else m._lua_pushnumber(L, values[i]!);
    m._lua_rawseti(L, -2, BigInt(i + 1));
  }
}

/**
 * Copies the table at `index` out of Lua as JSON-like data: a table whose keys are exactly
 * 1..n becomes an array, any other table an object, with an integer key k as the string "k"
 * (pushJsValue with `integerKeys` turns it back into k, so state round-trips integer keys and
 * survives JSON). A string key spelled as an integer ("17") and a fractional key are refused,
 * as they could not come back as they were; so are functions, coroutines, userdata, NaN and
 * infinities, with the path that holds them.
 */
export function readLuaTable(
  lua: LuaWasm,
  L: number,
  index: number,
  bounds: ReadBounds,
): Record<string, unknown> {
  const counter = { entries: 0 };
  const value = readTable(lua, L, rawApi(lua)._lua_absindex(L, index), bounds, counter, 0, 'state');
  if (Array.isArray(value))
    return value.length === 0 ? {} : Object.fromEntries(value.map((v, i) => [String(i + 1), v]));
  return value;
}

function readTable(
  lua: LuaWasm,
  L: number,
  index: number,
  bounds: ReadBounds,
  counter: { entries: number },
  depth: number,
  path: string,
): Record<string, unknown> | unknown[] {
  const m = rawApi(lua);
  if (depth >= bounds.maxDepth)
    throw new LuaValueError(`${path}: nested deeper than ${bounds.maxDepth} levels`);
  m._lua_checkstack(L, 4);
  const obj: Record<string, unknown> = {};
  const keys: Array<string | number> = [];
  m._lua_pushnil(L);
  while (m._lua_next(L, index) !== 0) {
    if (++counter.entries > bounds.maxEntries) {
      m._lua_settop(L, -3);
      throw new LuaValueError(`${path}: more than ${bounds.maxEntries} entries in all`);
    }
    const kt = m._lua_type(L, -2);
    let key: string | number;
    if (kt === T_STRING) {
      key = luaString(lua, L, -2);
      if (isIntegerKey(key)) {
        m._lua_settop(L, -3);
        throw new LuaValueError(
          `${path}: the string key "${key}" would come back as the integer ${key}; use the number as the key, or another name`,
        );
      }
    } else if (kt === T_NUMBER) {
      key = m._lua_tonumberx(L, -2, 0);
      // Lua stores integral float keys as integers; what is left is fractional or out of range.
      if (!Number.isSafeInteger(key)) {
        m._lua_settop(L, -3);
        throw new LuaValueError(
          `${path}: the key ${key} is not an integer; keys must be strings or integers`,
        );
      }
    } else {
      m._lua_settop(L, -3);
      throw new LuaValueError(`${path}: keys must be strings or numbers, got ${lua.lua_typename(L, kt)}`);
    }
    const sub = `${path}.${key}`;
    let value: unknown;
    try {
      value = readValue(lua, L, m._lua_gettop(L), bounds, counter, depth, sub);
    } catch (err) {
      m._lua_settop(L, -3);
      throw err;
    }
    keys.push(key);
    obj[String(key)] = value;
    m._lua_settop(L, -2);
  }
  // A Lua sequence 1..n reads back as an array, so state round-trips arrays.
  if (keys.length > 0 && keys.every((k) => typeof k === 'number')) {
    const n = keys.length;
    const seen = new Set(keys as number[]);
    let isSeq = true;
    for (let i = 1; i <= n; i++) if (!seen.has(i)) isSeq = false;
    if (isSeq) return Array.from({ length: n }, (_, i) => obj[String(i + 1)]);
  }
  return obj;
}

function readValue(
  lua: LuaWasm,
  L: number,
  index: number,
  bounds: ReadBounds,
  counter: { entries: number },
  depth: number,
  path: string,
): unknown {
  const m = rawApi(lua);
  const t = m._lua_type(L, index);
  switch (t) {
    case T_NIL:
      return null;
    case T_BOOLEAN:
      return m._lua_toboolean(L, index) !== 0;
    case T_NUMBER: {
      const n = m._lua_tonumberx(L, index, 0);
      if (!Number.isFinite(n)) throw new LuaValueError(`${path}: ${n} cannot be kept (only finite numbers)`);
      return n;
    }
    case T_STRING: {
      const len = m._lua_rawlen(L, index);
      if (len > bounds.maxString)
        throw new LuaValueError(`${path}: string of ${len} bytes (limit ${bounds.maxString})`);
      return luaString(lua, L, index);
    }
    case T_TABLE:
      return readTable(lua, L, index, bounds, counter, depth + 1, path);
    default:
      throw new LuaValueError(`${path}: a ${lua.lua_typename(L, t)} cannot be kept in state`);
  }
}
