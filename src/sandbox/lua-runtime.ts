/**
 * The per-thread Lua runtime: one wasm module for every Lua state of the thread, and the C
 * callbacks all states share (allocator, count hook, message handler, host functions), which
 * dispatch to the VM they belong to. The allocator enforces each state's memory cap and pins the
 * string-hash seed, so `pairs()` order repeats across states, runs and machines.
 */
import type { LuaWasm } from 'wasmoon';
import { AR_SIZE, LUA_MASKCOUNT, createLuaWasm, rawApi, type RawLua } from './raw-lua.js';
import { hostFetch, hostForecast, hostHistory, hostMetric, type HostSite } from './host-functions.js';
import type { SandboxLimits } from './sandbox-limits.js';

/** What the runtime's shared callbacks read and call on a VM (lua-vm.ts's LuaVm). */
export interface RuntimeVm extends HostSite {
  /** The state (lua_State*), 0 while there is none. */
  readonly L: number;
  readonly limits: Readonly<SandboxLimits>;
  /** Bytes the state holds, kept by the allocator. */
  memUsed: number;
  /** Past this, allocations fail (memoryBytes plus slack). */
  readonly hardLimit: number;
  /** Whether a call of this VM is running (the soft cap applies only then). */
  readonly inPolicy: boolean;
  memSoftHit: boolean;
  memHardHit: boolean;
  /** 1: the next allocation is lua_newstate's LG block; 2: the one after it (pin the seed); 0: done. */
  seedStep: number;
  /** The LG block's address while the seed is being pinned. */
  lg: number;
  onHook(L: number): void;
  onError(L: number): void;
  /** host_charge: charges a pcall or coroutine switch to the budget (os.clock reads the count). */
  hostCharge(L: number): number;
}

/** The thread's Lua runtime. */
export interface Runtime {
  lua: LuaWasm;
  m: RawLua;
  /** A lua_Debug buffer, used by hooks and the message handler. */
  ar: number;
  cstr(s: string): number;
  /** VMs by id (the allocator's user data): an array, since the allocator runs on every Lua allocation. */
  vms: Array<RuntimeVm | undefined>;
  /** The VM whose call is running (callbacks other than the allocator dispatch through it). */
  active: RuntimeVm | undefined;
  allocPtr: number;
  hookPtr: number;
  msghPtr: number;
  /** host_fetch, host_metric, host_history, host_forecast, host_charge: the prelude's arguments. */
  hostFns: number[];
  /** Offset of global_State.seed from the start of a state's first allocation (LG), or -1. */
  seedOffset: number;
}

let runtimePromise: Promise<Runtime> | undefined;

/** The thread's Lua runtime, created on first use. */
export function luaRuntime(): Promise<Runtime> {
  runtimePromise ??= createRuntime();
  return runtimePromise;
}

async function createRuntime(): Promise<Runtime> {
  const lua = await createLuaWasm();
  const m = rawApi(lua);
  const strings = new Map<string, number>();
  const rt: Runtime = {
    lua,
    m,
    ar: m._malloc(AR_SIZE),
    cstr(s) {
      let p = strings.get(s);
      if (p === undefined) strings.set(s, (p = m.stringToNewUTF8(s)));
      return p;
    },
    vms: [],
    active: undefined,
    allocPtr: 0,
    hookPtr: 0,
    msghPtr: 0,
    hostFns: [],
    seedOffset: -1,
  };
  const allocate = allocator(rt);
  rt.allocPtr = m.addFunction((ud, ptr, osize, nsize) => allocate(ud!, ptr!, osize!, nsize!), 'iiiii');
  rt.hookPtr = m.addFunction((L) => {
    rt.active?.onHook(L!);
  }, 'vii');
  rt.msghPtr = m.addFunction((L) => {
    rt.active?.onError(L!);
    return 1;
  }, 'ii');
  const host = (fn: (vm: RuntimeVm, L: number) => number) =>
    m.addFunction((L) => {
      const vm = rt.active;
      if (!vm) return 0;
      let failure: string;
      try {
        return fn(vm, L!);
      } catch (err) {
        // A Lua error is a longjmp, which emscripten implements by throwing Infinity: let it pass.
        if (err === Infinity) throw err;
        failure = err instanceof Error ? err.message : String(err);
      }
      lua.lua_pushstring(L!, failure);
      return m._lua_error(L!);
    }, 'ii');
  rt.hostFns = [
    host(hostFetch),
    host(hostMetric),
    host(hostHistory),
    host(hostForecast),
    host((vm, L) => vm.hostCharge(L)),
  ];
  rt.seedOffset = findSeedOffset(rt);
  return rt;
}

/**
 * The hash seed every state gets, so `pairs()` order repeats across states, runs and machines.
 * Lua 5.4 seeds string hashes per state from the clock and heap addresses (lstate.c,
 * luai_makeseed) and wasmoon offers no build flag or API for it: the allocator overwrites
 * `g->seed` between lua_newstate's first allocation (the LG block that holds global_State) and its
 * second (the stack), before any string is hashed.
 */
const PINNED_SEED = 0x2545f491;

/** Lua 5.4's luaS_hash (lstring.c) over ASCII text. */
function luaHash(text: string, seed: number): number {
  let h = (seed ^ text.length) >>> 0;
  for (let l = text.length; l > 0; l--)
    h = (h ^ (((h << 5) + (h >>> 2) + text.charCodeAt(l - 1)) >>> 0)) >>> 0;
  return h;
}

/**
 * Finds where global_State.seed sits in the LG block by looking, in a probe state, for the word
 * from which luaS_hash gives the hashes Lua stored for two interned strings. -1 (seed not pinned;
 * the sandbox tests fail) if this Lua build lays things out otherwise.
 */
function findSeedOffset(rt: Runtime): number {
  const { lua, m } = rt;
  const probe = {
    seedStep: 1,
    lg: 0,
    memUsed: 0,
    hardLimit: Infinity,
    inPolicy: false,
    limits: { memoryBytes: Infinity },
  } as unknown as RuntimeVm;
  const id = 0; // VM ids start at 1
  rt.vms[id] = probe;
  const L = lua.lua_newstate(rt.allocPtr, id);
  try {
    if (!L) return -1;
    const lg = (probe as unknown as { lg: number }).lg;
    const hashOf = (word: string) => {
      lua.lua_pushstring(L, word); // a reserved word: interned at lua_newstate, a short string
      const contents = m._lua_tolstring(L, -1, 0);
      m._lua_settop(L, -2);
      return m.HEAPU32[(contents - TSTRING_CONTENTS + TSTRING_HASH) >> 2]!;
    };
    const h1 = hashOf('function');
    const h2 = hashOf('while');
    for (let off = 0; off < 2048; off += 4) {
      const seed = m.HEAPU32[(lg + off) >> 2]!;
      if (luaHash('function', seed) === h1 && luaHash('while', seed) === h2) return off;
    }
    return -1;
  } finally {
    if (L) m._lua_close(L);
    rt.vms[id] = undefined;
  }
}

/** wasm32 TString (lobject.h): CommonHeader (next, tt, marked), extra, shrlen, hash at 8, u, contents at 16. */
const TSTRING_HASH = 8;
const TSTRING_CONTENTS = 16;

/** Lua's allocator (lua_Alloc) for this runtime: frees, reallocs, and enforces the per-state cap. */
function allocator(rt: Runtime): (ud: number, ptr: number, osize: number, nsize: number) => number {
  const m = rt.m;
  return function allocate(ud, ptr, osize, nsize) {
    const vm = rt.vms[ud];
    if (nsize === 0) {
      if (ptr) {
        if (vm) vm.memUsed -= osize;
        m._free(ptr);
      }
      return 0;
    }
    if (!vm) return m._realloc(ptr, nsize);
    // With ptr == NULL, osize is the object's type tag, not a size (Lua 5.4 manual §4.6, lua_Alloc).
    const delta = ptr ? nsize - osize : nsize;
    const next = vm.memUsed + delta;
    if (delta > 0) {
      if (next > vm.hardLimit) {
        vm.memHardHit = true;
        return 0;
      }
      if (next > vm.limits.memoryBytes && vm.inPolicy && !vm.memSoftHit) {
        // Let this allocation through and stop at the next instruction, where the hook can name the line.
        vm.memSoftHit = true;
        m._lua_sethook(vm.L, rt.hookPtr, LUA_MASKCOUNT, 1);
      }
    }
    const out = m._realloc(ptr, nsize);
    if (out) vm.memUsed = next;
    if (vm.seedStep !== 0) pinSeed(rt, vm, out);
    return out;
  };
}

/** lua_newstate's first allocation is the LG block; at its second, g->seed is set and unused yet. */
function pinSeed(rt: Runtime, vm: RuntimeVm, out: number): void {
  if (vm.seedStep === 1) {
    vm.lg = out;
    vm.seedStep = 2;
    return;
  }
  vm.seedStep = 0;
  if (rt.seedOffset >= 0) rt.m.HEAPU32[(vm.lg + rt.seedOffset) >> 2] = PINNED_SEED;
}
