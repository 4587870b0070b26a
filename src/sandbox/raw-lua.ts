/**
 * The raw wasm exports of wasmoon's Lua build, typed. wasmoon's `LuaWasm` methods go through
 * emscripten's `ccall` (~200 ns per call, measured); the `_lua_*` exports on its module are direct
 * (~30 ns), but in wasmoon's assertion build each one still formats two assertion messages per
 * call. The wasm instance's own exports cost ~10 ns, so `createLuaWasm` captures them while the
 * module instantiates (seed policy: 11 µs → ~2 µs per evaluate, measured). Strings are passed as
 * pointers allocated once.
 */
import { LuaFactory, type LuaWasm } from 'wasmoon';

/** Lua 5.4 pseudo-index of the registry (-LUAI_MAXSTACK - 1000). */
export const LUA_REGISTRYINDEX = -1001000;
/** lua_sethook mask for the count hook. */
export const LUA_MASKCOUNT = 8;
/** lua_pcallk status codes. */
export const LUA_OK = 0;
export const LUA_ERRRUN = 2;
export const LUA_ERRMEM = 4;
export const LUA_ERRERR = 5;
/** lua_type codes. */
export const LUA_TNIL = 0;
export const LUA_TNUMBER = 3;
export const LUA_TSTRING = 4;
export const LUA_TTABLE = 5;
export const LUA_TFUNCTION = 6;
/** Byte offsets in wasm32 `lua_Debug` (checked by the sandbox tests through error line numbers). */
export const AR_WHAT = 12;
export const AR_SOURCE = 16;
export const AR_CURRENTLINE = 24;
/** sizeof(lua_Debug) is 44 + LUA_IDSIZE(60) + a pointer; round up. */
export const AR_SIZE = 128;

/** The direct exports and heap views this package uses. */
export interface RawLua {
  HEAPU8: Uint8Array;
  HEAP32: Int32Array;
  HEAPU32: Uint32Array;
  _malloc(size: number): number;
  _free(ptr: number): void;
  _realloc(ptr: number, size: number): number;
  addFunction(fn: (...args: number[]) => number | void, signature: string): number;
  removeFunction(ptr: number): void;
  stringToNewUTF8(s: string): number;
  lengthBytesUTF8(s: string): number;
  _lua_close(L: number): void;
  _luaL_loadbufferx(L: number, buff: number, size: number, name: number, mode: number): number;
  _lua_copy(L: number, from: number, to: number): void;
  _lua_gettop(L: number): number;
  _lua_settop(L: number, idx: number): void;
  _lua_absindex(L: number, idx: number): number;
  _lua_pushvalue(L: number, idx: number): void;
  _lua_checkstack(L: number, n: number): number;
  _lua_type(L: number, idx: number): number;
  _lua_tonumberx(L: number, idx: number, isnum: number): number;
  _lua_toboolean(L: number, idx: number): number;
  /** Returns a pointer to the bytes; writes the length at `len` when non-zero. */
  _lua_tolstring(L: number, idx: number, len: number): number;
  _lua_rawlen(L: number, idx: number): number;
  _lua_pushnil(L: number): void;
  _lua_pushnumber(L: number, n: number): void;
  _lua_pushinteger(L: number, n: bigint): void;
  _lua_pushboolean(L: number, b: number): void;
  _lua_pushcclosure(L: number, fn: number, n: number): void;
  _lua_createtable(L: number, narr: number, nrec: number): void;
  _lua_getfield(L: number, idx: number, k: number): number;
  _lua_rawgeti(L: number, idx: number, n: bigint): number;
  _lua_rawset(L: number, idx: number): void;
  _lua_rawseti(L: number, idx: number, n: bigint): void;
  _lua_setglobal(L: number, name: number): void;
  _lua_next(L: number, idx: number): number;
  _lua_pcallk(L: number, nargs: number, nresults: number, errfunc: number, ctx: number, k: number): number;
  _lua_error(L: number): number;
  _lua_sethook(L: number, fn: number, mask: number, count: number): void;
  _lua_gethookcount(L: number): number;
  _lua_getstack(L: number, level: number, ar: number): number;
  _lua_getinfo(L: number, what: number, ar: number): number;
}

const rawViews = new WeakMap<LuaWasm, RawLua>();
const utf8 = new TextDecoder();
/** A byte ≥ 0x80 in latin1-decoded text: the bytes were not plain ASCII. */
const NON_ASCII = /[\u0080-\u00ff]/;

/** What luaString reads through: a length slot in wasm memory and views of the memory. */
interface StringViews {
  lua: LuaWasm;
  m: RawLua;
  lenPtr: number;
  bytes: Buffer;
  words: Uint32Array;
}

const stringViewsByLua = new WeakMap<LuaWasm, StringViews>();
/** The last runtime's views: a process normally has one Lua runtime per thread. */
let lastViews: StringViews | undefined;

/**
 * Views of the runtime's wasm memory for reading strings, made once: the module's HEAPU8 and
 * HEAPU32 are getters (~40 ns each). Growing the memory detaches the old buffer, whose views
 * then have length 0, so that is when they are made again.
 */
function stringViews(lua: LuaWasm): StringViews {
  let v = lastViews;
  if (v === undefined || v.lua !== lua) {
    v = stringViewsByLua.get(lua);
    if (v === undefined) {
      const m = rawApi(lua);
      const heap = m.HEAPU8;
      v = {
        lua,
        m,
        lenPtr: m._malloc(8),
        bytes: Buffer.from(heap.buffer, heap.byteOffset, heap.byteLength),
        words: m.HEAPU32,
      };
      stringViewsByLua.set(lua, v);
    }
    lastViews = v;
  }
  return v;
}

/**
 * The string at `idx` (which must be a string: lua_tolstring converts numbers in place), read
 * straight from wasm memory: ASCII as latin1 (one native copy), anything else through
 * TextDecoder, so the text is what UTF-8 decoding gives either way.
 */
export function luaString(lua: LuaWasm, L: number, idx: number): string {
  const v = stringViews(lua);
  const ptr = v.m._lua_tolstring(L, idx, v.lenPtr);
  if (v.bytes.length === 0) {
    // The memory grew since the views were made (lua_tolstring may allocate).
    const heap = v.m.HEAPU8;
    v.bytes = Buffer.from(heap.buffer, heap.byteOffset, heap.byteLength);
    v.words = v.m.HEAPU32;
  }
  const len = v.words[v.lenPtr >> 2]!;
  const latin1 = v.bytes.toString('latin1', ptr, ptr + len);
  if (!NON_ASCII.test(latin1)) return latin1;
  return utf8.decode(v.bytes.subarray(ptr, ptr + len));
}

/** The direct-export view of a wasmoon module (the instance's exports when they were captured). */
export function rawApi(lua: LuaWasm): RawLua {
  return rawViews.get(lua) ?? (lua.module as unknown as RawLua);
}

/**
 * Creates a wasmoon Lua module and captures its wasm exports: `WebAssembly.instantiate` is wrapped
 * only for the duration of this call, and passes every other module through untouched.
 */
export async function createLuaWasm(): Promise<LuaWasm> {
  // The WebAssembly global is not in this project's lib (no DOM types): a minimal local view.
  type Exports = Record<string, unknown>;
  const wasm = (
    globalThis as unknown as { WebAssembly: { instantiate: (...args: unknown[]) => Promise<unknown> } }
  ).WebAssembly;
  const original = wasm.instantiate;
  let exports: Exports | undefined;
  const wrapped = async function (this: unknown, ...args: unknown[]) {
    const result = (await original.apply(this, args)) as {
      instance?: { exports: Exports };
      exports?: Exports;
    };
    const found = result.instance?.exports ?? result.exports;
    if (found && typeof found.lua_pcallk === 'function') exports = found;
    return result;
  };
  wasm.instantiate = wrapped;
  let lua: LuaWasm;
  try {
    lua = await new LuaFactory().getLuaModule();
  } finally {
    if (wasm.instantiate === wrapped) wasm.instantiate = original;
  }
  if (exports) rawViews.set(lua, directView(lua.module as unknown as Record<string, unknown>, exports));
  return lua;
}

/** The module's members with every `_lua*`, `_malloc`, `_free`, `_realloc` replaced by the instance's export. */
function directView(module: Record<string, unknown>, ex: Record<string, unknown>): RawLua {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(module)) {
    if (!key.startsWith('_')) continue;
    const direct = ex[key.slice(1)];
    out[key] = typeof direct === 'function' ? direct : module[key];
  }
  // Heap views are replaced when memory grows: always read them from the module.
  for (const key of ['HEAPU8', 'HEAP32', 'HEAPU32'])
    Object.defineProperty(out, key, { get: () => module[key] });
  for (const key of ['addFunction', 'removeFunction', 'stringToNewUTF8', 'lengthBytesUTF8'])
    out[key] = module[key];
  return out as unknown as RawLua;
}
