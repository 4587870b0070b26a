/**
 * Moving JSON-like values between JS and a Lua state through the raw C API (no wasmoon proxies).
 * Pushing runs inside a protected call (a host C function), so a memory-cap hit is a Lua error;
 * reading uses only `lua_next`, `lua_type` and `lua_to*` on tables the host owns, which neither
 * allocate nor run metamethods, so it is safe outside a protected call.
 */
import type { LuaWasm } from 'wasmoon';
import { luaString, rawApi, type RawLua } from './raw-lua.js';

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

/** Options of pushJsValue. */
export interface PushOptions {
  /**
   * An object key spelled as an integer becomes a Lua integer key (ctx.state): the inverse of
   * readLuaTable.
   */
  integerKeys?: boolean;
}

/** What the recursion carries besides L and the value: one per Lua module and key rule. */
interface PushContext {
  lua: LuaWasm;
  m: RawLua;
  integerKeys: boolean;
}

const NO_OPTIONS: PushOptions = {};
/** Per Lua module: the contexts without and with integer keys (host_fetch pushes every call: no allocation). */
const pushContexts = new WeakMap<LuaWasm, [PushContext, PushContext]>();

/** Pushes a JSON-like JS value (objects, arrays, numbers, strings, booleans, null → nil). */
export function pushJsValue(
  lua: LuaWasm,
  L: number,
  value: unknown,
  options: PushOptions = NO_OPTIONS,
): void {
  let pair = pushContexts.get(lua);
  if (!pair) {
    const m = rawApi(lua);
    pair = [
      { lua, m, integerKeys: false },
      { lua, m, integerKeys: true },
    ];
    pushContexts.set(lua, pair);
  }
  pushValue(pair[options.integerKeys === true ? 1 : 0], L, value, 0);
}

function pushValue(cx: PushContext, L: number, value: unknown, depth: number): void {
  const { lua, m } = cx;
  if (value === null || typeof value !== 'object') return pushScalar(lua, m, L, value);
  if (depth > 32) return m._lua_pushnil(L);
  m._lua_checkstack(L, 4);
  if (Array.isArray(value)) {
    m._lua_createtable(L, value.length, 0);
    for (let i = 0; i < value.length; i++) {
      pushValue(cx, L, value[i], depth + 1);
      m._lua_rawseti(L, -2, BigInt(i + 1));
    }
    return;
  }
  const entries = Object.entries(value as Record<string, unknown>);
  m._lua_createtable(L, 0, entries.length);
  for (const [k, v] of entries) {
    if (cx.integerKeys && isIntegerKey(k)) m._lua_pushinteger(L, BigInt(k));
    else lua.lua_pushstring(L, k);
    pushValue(cx, L, v, depth + 1);
    m._lua_rawset(L, -3);
  }
}

/** Pushes a value that is not an object (null and undefined → nil; a function or symbol → nil). */
function pushScalar(lua: LuaWasm, m: RawLua, L: number, value: unknown): void {
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
  const m = rawApi(lua);
  const cx: ReadContext = { lua, m, L, bounds, entries: 0 };
  const value = readTable(cx, m._lua_absindex(L, index), 0, 'state');
  if (Array.isArray(value))
    return value.length === 0 ? {} : Object.fromEntries(value.map((v, i) => [String(i + 1), v]));
  return value;
}

/** What the recursion carries besides the position: one per readLuaTable call, not one per value. */
interface ReadContext {
  lua: LuaWasm;
  m: RawLua;
  L: number;
  bounds: ReadBounds;
  /** Table entries read so far over the whole value. */
  entries: number;
}

function readTable(
  cx: ReadContext,
  index: number,
  depth: number,
  path: string,
): Record<string, unknown> | unknown[] {
  const { m, L, bounds } = cx;
  if (depth >= bounds.maxDepth)
    throw new LuaValueError(`${path}: nested deeper than ${bounds.maxDepth} levels`);
  m._lua_checkstack(L, 4);
  const obj: Record<string, unknown> = {};
  const keys: Array<string | number> = [];
  m._lua_pushnil(L);
  while (m._lua_next(L, index) !== 0) {
    if (++cx.entries > bounds.maxEntries) {
      m._lua_settop(L, -3);
      throw new LuaValueError(`${path}: more than ${bounds.maxEntries} entries in all`);
    }
    const key = readKey(cx, path);
    let value: unknown;
    try {
      value = readValue(cx, m._lua_gettop(L), depth, `${path}.${key}`);
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

/** The key at -2 during lua_next; refuses (popping key and value) one that would not come back as it was. */
function readKey(cx: ReadContext, path: string): string | number {
  const { lua, m, L } = cx;
  const kt = m._lua_type(L, -2);
  if (kt === T_STRING) {
    const key = luaString(lua, L, -2);
    if (!isIntegerKey(key)) return key;
    m._lua_settop(L, -3);
    throw new LuaValueError(
      `${path}: the string key "${key}" would come back as the integer ${key}; use the number as the key, or another name`,
    );
  }
  if (kt === T_NUMBER) {
    const key = m._lua_tonumberx(L, -2, 0);
    // Lua stores integral float keys as integers; what is left is fractional or out of range.
    if (Number.isSafeInteger(key)) return key;
    m._lua_settop(L, -3);
    throw new LuaValueError(`${path}: the key ${key} is not an integer; keys must be strings or integers`);
  }
  m._lua_settop(L, -3);
  throw new LuaValueError(`${path}: keys must be strings or numbers, got ${lua.lua_typename(L, kt)}`);
}

function readValue(cx: ReadContext, index: number, depth: number, path: string): unknown {
  const { lua, m, L, bounds } = cx;
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
      return readTable(cx, index, depth + 1, path);
    default:
      throw new LuaValueError(`${path}: a ${lua.lua_typename(L, t)} cannot be kept in state`);
  }
}
