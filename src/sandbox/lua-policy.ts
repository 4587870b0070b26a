/**
 * A Lua scaling policy in a sandboxed Lua 5.4 state (wasmoon 1.16, Lua compiled to wasm).
 *
 * One Lua state per loaded policy, all states of a thread in one wasm module. The sandbox:
 * - libraries: base (without load/dofile/loadfile/require, collectgarbage only "count", print → log),
 *   string (no dump), table, math, utf8, coroutine, os.time/clock/date (on the decision clock and
 *   the budget, see the prelude); all read-only views;
 * - an instruction budget per call: a count hook every `hookEvery` instructions adds up the
 *   instructions; past the budget it raises, and switches itself to fire on every instruction, so
 *   a pcall-wrapped loop, an error handler or a coroutine that swallows the error is interrupted
 *   again at once until the error reaches the host;
 * - a memory cap through our own allocator: past `memoryBytes` the hook raises at the next
 *   instruction (so the error names the line); past `memoryBytes + slack` allocations fail;
 * - `ctx` built by one `lua_pcallk` of a trusted runner with the observation's numbers as
 *   arguments (see sandbox-prelude.ts); never wasmoon's JS object proxies.
 * A C function that runs long without executing Lua instructions (a pathological string.find) is
 * not stopped here: SandboxWorker adds the wall-clock backstop.
 *
 * State machine of a LuaPolicy: ready → (evaluate)* → closed. A wasm fault (a trap, not a Lua
 * error) marks the state broken; the next evaluate rebuilds it from the source.
 */
import { readFile } from 'node:fs/promises';
import type { LuaWasm } from 'wasmoon';
import { ERRORS, LuascaleError, formatMessage, type ErrorCode } from '../core/errors.js';
import type { Policy, PolicyAlert, PolicyContext, PolicyOutcome } from '../policy/policy.js';
import { LuaValueError, pushJsValue, pushNumberArray, pushNumberValue, readLuaTable } from './lua-values.js';
import { currentMetric, forecastMetric, windowMean } from './metric-lookup.js';
import { HISTORY_SIGNALS, SIGNALS, SIGNAL_COUNT, SIGNAL_NAMES, writeSignalValues } from '../signals/index.js';
import {
  AR_CURRENTLINE,
  AR_SIZE,
  AR_SOURCE,
  LUA_ERRMEM,
  LUA_MASKCOUNT,
  LUA_OK,
  LUA_REGISTRYINDEX,
  LUA_TFUNCTION,
  LUA_TNUMBER,
  LUA_TSTRING,
  LUA_TTABLE,
  createLuaWasm,
  luaString,
  rawApi,
  type RawLua,
} from './raw-lua.js';
import { SANDBOX_PRELUDE } from './sandbox-prelude.js';

/** Per-policy sandbox limits. */
export interface SandboxLimits {
  /** Lua VM instructions per evaluate() (and for running a module's top level at load). */
  instructions: number;
  /** Bytes the policy's Lua state may hold (code, ctx, its own data). */
  memoryBytes: number;
  /** The count hook's period in instructions: the budget's granularity. */
  hookEvery: number;
  /** Results above this are rejected as absurd. */
  maxReplicas: number;
  /** log()/alert() entries kept per call. */
  maxLogs: number;
  /** Characters kept per log or alert message. */
  maxLogLength: number;
  /** ctx.state bounds: entries in all, nesting depth, bytes per string. */
  maxStateEntries: number;
  maxStateDepth: number;
  maxStateString: number;
  /** Values returned by ctx.history() at most. */
  maxHistoryPoints: number;
}

/** Defaults: a seed-sized policy runs ~40 instructions in ~1 µs, so these leave room for real work. */
export const DEFAULT_SANDBOX_LIMITS: Readonly<SandboxLimits> = Object.freeze({
  instructions: 1_000_000,
  memoryBytes: 8 * 1024 * 1024,
  hookEvery: 1000,
  maxReplicas: 1_000_000,
  maxLogs: 100,
  maxLogLength: 1000,
  maxStateEntries: 10_000,
  maxStateDepth: 16,
  maxStateString: 65_536,
  maxHistoryPoints: 100_000,
});

/** Options of loadLuaPolicy: a file, or source text with a chunk name for messages. */
export interface LoadLuaPolicyOptions {
  file?: string;
  source?: string;
  /** The name errors show ("policies/cpu.lua"); defaults to `file`, else "policy.lua". */
  chunkName?: string;
  limits?: Partial<SandboxLimits>;
}

/** A loaded Lua policy: a Policy plus what tools want to know about it. */
export interface LuaPolicy extends Policy {
  readonly style: 'module' | 'script';
  /** What decided the style, in one line ("module: it defines a global function decide"). */
  readonly styleReason: string;
  /** Bytes its Lua state holds now. */
  memoryUsed(): number;
  close(): void;
}

/** Loads a Lua policy; throws LuascaleError (LS_ERR_POLICY_NOT_FOUND, _SYNTAX, or a load-time run error). */
export async function loadLuaPolicy(options: LoadLuaPolicyOptions): Promise<LuaPolicy> {
  let source = options.source;
  const chunkName = options.chunkName ?? options.file ?? 'policy.lua';
  if (source === undefined) {
    if (options.file === undefined)
      throw new LuascaleError('LS_ERR_POLICY_NOT_FOUND', { file: '(no file or source given)' });
    try {
      source = await readFile(options.file, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR') {
        throw new LuascaleError('LS_ERR_POLICY_NOT_FOUND', { file: options.file });
      }
      throw new LuascaleError(
        'LS_ERR_POLICY_NOT_FOUND',
        { file: options.file },
        { message: `${options.file}: cannot read: ${(err as Error).message}` },
      );
    }
  }
  const runtime = await luaRuntime();
  const limits: SandboxLimits = { ...DEFAULT_SANDBOX_LIMITS, ...definedOnly(options.limits ?? {}) };
  return new LuaVm(runtime, source, chunkName, limits).policy();
}

/**
 * Whether the source may be module-style: its code (comments and string literals aside) defines
 * a `decide` function or assigns something to a `decide` (`decide = f`, `M.decide = f`, a table
 * field `{ decide = f }`). Only such a file has its top level run at load, which then decides
 * (see LuaVm.detectStyle); any other file is a script and never runs outside a decision.
 */
export function isModuleStyle(source: string): boolean {
  const code = luaCodeOnly(source);
  return DEFINES_DECIDE.test(code) || /\bdecide\s*=(?!=)/.test(code);
}

const DEFINES_DECIDE =
  /\b(local\s+)?function\s+(?:[\w.:]+[.:])?decide\s*\(|\b(local\s+)?decide\s*=\s*function\b/;

/** The first definition of a `decide` function in the code: its line and whether it is `local`. */
export function findDecideDefinition(source: string): { line: number; local: boolean } | undefined {
  const code = luaCodeOnly(source);
  const m = DEFINES_DECIDE.exec(code);
  if (!m) return undefined;
  const line = code.slice(0, m.index).split('\n').length;
  return { line, local: m[1] !== undefined || m[2] !== undefined };
}

/** Lua source with comments and string literals blanked (newlines kept, so lines still count). */
function luaCodeOnly(source: string): string {
  const blank = (s: string) => s.replace(/[^\n]/g, ' ');
  let out = '';
  let i = 0;
  const n = source.length;
  while (i < n) {
    const c = source[i]!;
    const long = /^\[(=*)\[/.exec(source.slice(i, i + 64));
    if (c === '-' && source[i + 1] === '-') {
      const lc = /^\[(=*)\[/.exec(source.slice(i + 2, i + 66));
      const end = lc ? source.indexOf(`]${lc[1]}]`, i + 2 + lc[0].length) : source.indexOf('\n', i);
      const stop = end < 0 ? n : lc ? end + lc[1]!.length + 2 : end;
      out += blank(source.slice(i, stop));
      i = stop;
    } else if (long) {
      const end = source.indexOf(`]${long[1]}]`, i + long[0].length);
      const stop = end < 0 ? n : end + long[1]!.length + 2;
      out += blank(source.slice(i, stop));
      i = stop;
    } else if (c === '"' || c === "'") {
      let j = i + 1;
      while (j < n && source[j] !== c && source[j] !== '\n') j += source[j] === '\\' ? 2 : 1;
      out += blank(source.slice(i, j + 1));
      i = j + 1;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

// ---------------------------------------------------------------------------------------------
// The per-thread runtime: one wasm module, shared C callbacks that dispatch to the active VM.

interface Runtime {
  lua: LuaWasm;
  m: RawLua;
  /** A lua_Debug buffer, used by hooks and the message handler. */
  ar: number;
  cstr(s: string): number;
  /** VMs by id (the allocator's user data): an array, since the allocator runs on every Lua allocation. */
  vms: Array<LuaVm | undefined>;
  /** The VM whose call is running (callbacks other than the allocator dispatch through it). */
  active: LuaVm | undefined;
  allocPtr: number;
  hookPtr: number;
  msghPtr: number;
  hostFns: number[];
  /** Offset of global_State.seed from the start of a state's first allocation (LG), or -1. */
  seedOffset: number;
}

let runtimePromise: Promise<Runtime> | undefined;

/** The thread's Lua runtime, created on first use. */
function luaRuntime(): Promise<Runtime> {
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
  rt.allocPtr = m.addFunction((ud, ptr, osize, nsize) => allocate(rt, ud!, ptr!, osize!, nsize!), 'iiiii');
  rt.hookPtr = m.addFunction((L) => {
    rt.active?.onHook(L!);
  }, 'vii');
  rt.msghPtr = m.addFunction((L) => {
    rt.active?.onError(L!);
    return 1;
  }, 'ii');
  const host = (fn: (vm: LuaVm, L: number) => number) =>
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
    host((vm, L) => vm.hostFetch(L)),
    host((vm, L) => vm.hostMetric(L)),
    host((vm, L) => vm.hostHistory(L)),
    host((vm, L) => vm.hostForecast(L)),
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
  } as unknown as LuaVm;
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

/** Lua's allocator (lua_Alloc): frees, reallocs, and enforces the per-state cap. */
function allocate(rt: Runtime, ud: number, ptr: number, osize: number, nsize: number): number {
  const vm = rt.vms[ud];
  const m = rt.m;
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
}

/** lua_newstate's first allocation is the LG block; at its second, g->seed is set and unused yet. */
function pinSeed(rt: Runtime, vm: LuaVm, out: number): void {
  if (vm.seedStep === 1) {
    vm.lg = out;
    vm.seedStep = 2;
    return;
  }
  vm.seedStep = 0;
  if (rt.seedOffset >= 0) rt.m.HEAPU32[(vm.lg + rt.seedOffset) >> 2] = PINNED_SEED;
}

// ---------------------------------------------------------------------------------------------

/** Stack slots the host keeps filled between calls. */
const SLOT_RUN = 1;
const SLOT_POLICY = 2;
const SLOT_MSGH = 3;
const SLOT_LOGS = 4;
const SLOT_ALERTS = 5;
const SLOT_CTX = 6;
const SLOT_GC = 7;
const SLOT_LOAD_MODULE = 8;
const BASE = 8;

/** What the prelude builds ctx and the get_* helpers from (host_fetch(6)): names in catalogue order. */
const SIGNAL_SHAPE = {
  names: SIGNAL_NAMES,
  getters: Object.fromEntries(
    SIGNALS.flatMap((s): Array<[string, string]> => ('getter' in s ? [[s.getter, s.name]] : [])),
  ),
};

/** Per catalogue index: a count (a fleet signal: an integer in Lua) rather than a measurement (a float). */
const IS_COUNT = SIGNALS.map((s) => s.kind === 'fleet');
const COUNT_NAMES = new Set<string>(SIGNALS.filter((s) => s.kind === 'fleet').map((s) => s.name));
/** Names `ctx.history` / `ctx.forecast` know besides custom metrics. */
const HISTORY_NAMES = new Set<string>(HISTORY_SIGNALS);
const ALL_NAMES = new Set<string>(SIGNAL_NAMES);

let nextVmId = 1;

/** Instructions charged per pcall/xpcall/coroutine resume: each costs a JS exception when it unwinds. */
const CALL_COST = 1000;

class LuaVm {
  readonly id = nextVmId++;
  L = 0;
  memUsed = 0;
  readonly hardLimit: number;
  inPolicy = false;
  /** 1: the next allocation is lua_newstate's LG block; 2: the one after it (pin the seed); 0: done. */
  seedStep = 0;
  /** The LG block's address while the seed is being pinned. */
  lg = 0;
  memSoftHit = false;
  memHardHit = false;
  private used = 0;
  private exceeded = false;
  private stopWhere: string | undefined;
  /** The signals of the call being made, in catalogue order (reused: no allocation per call). */
  private readonly values = new Float64Array(SIGNAL_COUNT);
  private errWhere: string | undefined;
  private srcPtr = 0;
  private shortSrc = '';
  private decideLine = 1;
  private style: 'module' | 'script' = 'script';
  private styleReason = '';
  private broken = false;
  private closed = false;
  private current: PolicyContext | undefined;
  private lastParams: unknown = undefined;
  private lastSlo: unknown = undefined;
  private lastService: string | undefined = undefined;
  private lastState: unknown = undefined;
  /** Unknown metric names already reported (once per policy). */
  private readonly reportedNames = new Set<string>();
  /** Host warnings of the call being made (unknown metric names), appended to its logs. */
  private warnings: string[] = [];
  private budgetMsgRef = 0n;
  private memoryMsgRef = 0n;

  constructor(
    private readonly rt: Runtime,
    private readonly source: string,
    private readonly chunkName: string,
    readonly limits: SandboxLimits,
  ) {
    this.shortSrc = shortSource(chunkName);
    this.hardLimit = limits.memoryBytes + Math.max(1024 * 1024, Math.floor(limits.memoryBytes / 4));
    this.build();
  }

  /** The Policy facade. */
  policy(): LuaPolicy {
    return {
      name: this.chunkName,
      source: this.source,
      style: this.style,
      styleReason: this.styleReason,
      evaluate: (ctx) => this.evaluate(ctx),
      memoryUsed: () => this.memUsed,
      close: () => this.close(),
    };
  }

  /** Creates the Lua state, the sandbox, and loads the policy; throws LuascaleError on load errors. */
  private build(): void {
    const { rt } = this;
    const { lua, m } = rt;
    rt.vms[this.id] = this;
    this.seedStep = 1;
    const L = lua.lua_newstate(rt.allocPtr, this.id);
    this.seedStep = 0;
    if (!L) {
      rt.vms[this.id] = undefined;
      throw new LuascaleError('LS_ERR_POLICY_MEMORY', {
        where: this.chunkName,
        limit: this.limits.memoryBytes,
      });
    }
    this.L = L;
    this.memUsed = Math.max(0, this.memUsed);
    try {
      lua.luaopen_base(L);
      m._lua_settop(L, 0);
      const libs: Array<[string, (L: number) => number]> = [
        ['string', lua.luaopen_string],
        ['table', lua.luaopen_table],
        ['math', lua.luaopen_math],
        ['utf8', lua.luaopen_utf8],
        ['os', lua.luaopen_os],
        ['coroutine', lua.luaopen_coroutine],
      ];
      for (const [name, open] of libs) {
        open(L);
        m._lua_setglobal(L, rt.cstr(name));
      }
      m._lua_checkstack(L, 64);
      lua.lua_pushstring(L, 'instruction budget exceeded');
      this.budgetMsgRef = BigInt(lua.luaL_ref(L, LUA_REGISTRYINDEX));
      lua.lua_pushstring(L, 'memory limit exceeded');
      this.memoryMsgRef = BigInt(lua.luaL_ref(L, LUA_REGISTRYINDEX));

      // The prelude: trusted, but budgeted like everything else.
      this.loadChunk(SANDBOX_PRELUDE, '=sandbox');
      for (const fn of rt.hostFns) m._lua_pushcclosure(L, fn, 0);
      m._lua_pushnumber(L, this.limits.maxLogs);
      m._lua_pushnumber(L, this.limits.maxLogLength);
      const rc = this.protectedCall(7, BASE, 0);
      if (rc !== LUA_OK) throw new Error(`sandbox prelude failed: ${this.errorText()}`);
      m._lua_pushcclosure(L, rt.msghPtr, 0);
      m._lua_copy(L, -1, SLOT_MSGH);
      m._lua_settop(L, BASE);

      // The policy chunk, text only (binary chunks can crash the VM).
      const syntax = this.loadChunk(this.source, '@' + this.chunkName);
      if (syntax !== undefined) throw this.syntaxError(syntax);
      this.describeFunction(-1, true);
      this.detectStyle();
      m._lua_settop(L, BASE);
    } catch (err) {
      this.destroy();
      throw err;
    }
  }

  /**
   * Decides the style. A file whose code never mentions a `decide` (isModuleStyle) is a script
   * and is not run at load. Any other file's top level runs once, as a module's does: a `decide`
   * function in the table it returns, or a global `decide` function afterwards, makes it a
   * module. If it exports none, a file that defines a decide function (comments and strings
   * aside) is refused, naming the line (`local function decide` without an export); one that only
   * assigns a variable named decide is a script, and so is one whose top level failed without
   * defining a decide function (a script reads signals that do not exist yet at load).
   * Leaves the policy function in SLOT_POLICY.
   */
  private detectStyle(): void {
    const { m } = this.rt;
    const L = this.L;
    const chunk = m._lua_gettop(L);
    m._lua_copy(L, chunk, SLOT_POLICY);
    this.style = 'script';
    if (!isModuleStyle(this.source)) {
      this.styleReason = 'script: its code never mentions decide, so the whole file runs every tick';
      return;
    }
    m._lua_pushvalue(L, SLOT_LOAD_MODULE);
    m._lua_pushvalue(L, chunk);
    const rc = this.protectedCall(1, 2, SLOT_MSGH);
    const defined = findDecideDefinition(this.source);
    if (rc !== LUA_OK) {
      if (defined !== undefined) throw this.loadRunError(rc);
      m._lua_settop(L, chunk);
      this.collect();
    } else if (m._lua_type(L, -2) === LUA_TFUNCTION) {
      const how = m._lua_tonumberx(L, -1, 0);
      this.style = 'module';
      this.styleReason =
        how === 1
          ? 'module: the table it returns has a decide function'
          : 'module: it defines a global function decide';
      this.describeFunction(-2, false);
      m._lua_copy(L, -2, SLOT_POLICY);
      return;
    } else if (defined !== undefined) {
      throw new LuascaleError('LS_ERR_POLICY_RUNTIME', {
        where: `${this.chunkName}:${defined.line}`,
        reason: defined.local
          ? "defines a local function decide but does not export it: drop 'local', or end the file with return { decide = decide }"
          : 'defines a decide function but exports none after its top level ran: make decide global, or return a table with it',
      });
    }
    this.styleReason = 'script: its top level defines no decide function, so the whole file runs every tick';
  }

  /** Loads source text as a function on the stack; returns the error message on a syntax error. */
  private loadChunk(text: string, chunk: string): string | undefined {
    const { m } = this.rt;
    const ptr = m.stringToNewUTF8(text);
    try {
      const rc = m._luaL_loadbufferx(
        this.L,
        ptr,
        m.lengthBytesUTF8(text),
        this.rt.cstr(chunk),
        this.rt.cstr('t'),
      );
      if (rc === LUA_OK) return undefined;
      const msg = this.errorText();
      m._lua_settop(this.L, -2);
      return rc === LUA_ERRMEM ? 'not enough memory to load the policy' : msg;
    } finally {
      m._free(ptr);
    }
  }

  /** Records the source pointer, short_src and line of the function at `idx`. */
  private describeFunction(idx: number, isChunk: boolean): void {
    const { m, ar, cstr } = this.rt;
    m._lua_pushvalue(this.L, idx);
    m._lua_getinfo(this.L, cstr('>S'), ar);
    if (isChunk) {
      this.srcPtr = m.HEAPU32[(ar + AR_SOURCE) >> 2]!;
    } else {
      this.decideLine = Math.max(1, m.HEAP32[(ar + 28) >> 2]!);
    }
  }

  /** lua_pcallk with the budget armed and this VM active; a JS exception (a wasm fault) marks the state broken. */
  private protectedCall(nargs: number, nresults: number, msgh: number): number {
    const { rt } = this;
    const prev = rt.active;
    this.used = 0;
    this.exceeded = false;
    this.memSoftHit = false;
    this.memHardHit = false;
    this.stopWhere = undefined;
    this.errWhere = undefined;
    // Re-armed on every call, which restarts its countdown: the count a call is charged (and
    // os.clock() reads) then depends on that call alone, not on what the calls before it ran.
    rt.m._lua_sethook(this.L, rt.hookPtr, LUA_MASKCOUNT, this.limits.hookEvery);
    rt.active = this;
    this.inPolicy = true;
    try {
      return rt.m._lua_pcallk(this.L, nargs, nresults, msgh, 0, 0);
    } catch (err) {
      this.broken = true;
      throw err;
    } finally {
      this.inPolicy = false;
      rt.active = prev;
    }
  }

  /** Count hook: adds up instructions; past the budget (or the memory cap) raises, on every instruction from then on. */
  onHook(L: number): void {
    const { m, hookPtr } = this.rt;
    if (!this.exceeded && !this.memSoftHit) {
      this.used += m._lua_gethookcount(L);
      if (this.used <= this.limits.instructions) return;
      this.exceeded = true;
    }
    this.stopWhere ??= this.findWhere(L, 0);
    m._lua_sethook(L, hookPtr, LUA_MASKCOUNT, 1);
    if (L !== this.L) m._lua_sethook(this.L, hookPtr, LUA_MASKCOUNT, 1);
    m._lua_rawgeti(
      L,
      LUA_REGISTRYINDEX,
      this.memSoftHit && !this.exceeded ? this.memoryMsgRef : this.budgetMsgRef,
    );
    m._lua_error(L);
  }

  /** Message handler of the host's pcall: remembers where the error happened (the stack is still there). */
  onError(L: number): void {
    this.errWhere ??= this.findWhere(L, 1);
  }

  /** "file:line" of the innermost stack level running the policy's own code. */
  private findWhere(L: number, from: number): string | undefined {
    const { m, ar, cstr } = this.rt;
    const what = cstr('Sl');
    for (let level = from; level < from + 64; level++) {
      if (m._lua_getstack(L, level, ar) === 0) break;
      m._lua_getinfo(L, what, ar);
      if (m.HEAPU32[(ar + AR_SOURCE) >> 2] === this.srcPtr) {
        const line = m.HEAP32[(ar + AR_CURRENTLINE) >> 2]!;
        return line > 0 ? `${this.chunkName}:${line}` : this.chunkName;
      }
    }
    return undefined;
  }

  /** The error value at the top of the stack as text (without running metamethods). */
  private errorText(): string {
    const { lua, m } = this.rt;
    const t = m._lua_type(this.L, -1);
    if (t === LUA_TSTRING) return luaString(lua, this.L, -1);
    if (t === LUA_TNUMBER) return String(m._lua_tonumberx(this.L, -1, 0));
    return `(error object is a ${lua.lua_typename(this.L, t)} value)`;
  }

  /**
   * Splits "short_src:line: reason" into our where (full chunk name) and the reason. A position
   * inside the sandbox's own chunks and the wrappers' local names never reach the message: the
   * policy's line (from the message handler) stands for them, and the public name for the local.
   */
  private splitMessage(msg: string): { where: string; reason: string } {
    const oneLine = msg
      .replace(/\s*\n\s*/g, ' ')
      .slice(0, 500)
      .replace(INTERNAL_POSITION, '')
      .replace(INTERNAL_NAME, (_, name: string) => `'${PUBLIC_NAMES[name]}'`);
    const prefix = this.shortSrc + ':';
    if (oneLine.startsWith(prefix)) {
      const m = /^(\d+): ?(.*)$/s.exec(oneLine.slice(prefix.length));
      if (m) return { where: `${this.chunkName}:${m[1]}`, reason: m[2]! };
    }
    return {
      where: this.errWhere ?? this.stopWhere ?? `${this.chunkName}:${this.decideLine}`,
      reason: oneLine,
    };
  }

  private syntaxError(msg: string): LuascaleError {
    const { where, reason } = this.splitMessage(msg);
    return new LuascaleError('LS_ERR_POLICY_SYNTAX', { where, reason });
  }

  private loadRunError(rc: number): LuascaleError {
    const f = this.failure(rc);
    return new LuascaleError(f.code, f.params, { message: f.error });
  }

  /** Classifies a failed call: budget, memory, or a runtime error, with file:line. */
  private failure(rc: number): { code: ErrorCode; error: string; params: Record<string, unknown> } {
    const text = this.errorText();
    const at = (code: ErrorCode, params: Record<string, unknown>) => ({
      code,
      params,
      error: formatMessage(ERRORS[code].message, params),
    });
    if (this.exceeded) {
      return at('LS_ERR_POLICY_BUDGET', {
        where: this.stopWhere ?? this.splitMessage(text).where,
        budget: this.limits.instructions,
      });
    }
    if (this.memSoftHit || this.memHardHit) {
      if (rc === LUA_ERRMEM || /not enough memory|memory limit exceeded/.test(text)) {
        const where = this.stopWhere ?? this.errWhere ?? `${this.chunkName}:${this.decideLine}`;
        return at('LS_ERR_POLICY_MEMORY', { where, limit: this.limits.memoryBytes });
      }
    }
    const { where, reason } = this.splitMessage(text);
    return at('LS_ERR_POLICY_RUNTIME', { where, reason });
  }

  /** Policy.evaluate: never throws. A JS exception here means the state cannot be trusted: rebuild it. */
  private evaluate(ctx: PolicyContext): PolicyOutcome {
    try {
      return this.evaluateOnce(ctx);
    } catch (err) {
      this.broken = true;
      this.lastState = undefined;
      return errorOutcome(
        'LS_ERR_POLICY_RUNTIME',
        `${this.chunkName}: sandbox fault (${err instanceof Error ? err.message : String(err)}); the policy is reloaded on the next call`,
      );
    }
  }

  private evaluateOnce(ctx: PolicyContext): PolicyOutcome {
    if (this.closed) return errorOutcome('LS_ERR_POLICY_RUNTIME', `${this.chunkName}: policy is closed`);
    if (this.broken) {
      try {
        this.destroy();
        this.broken = false;
        this.closed = false;
        this.build();
      } catch (err) {
        return errorOutcome(
          'LS_ERR_POLICY_RUNTIME',
          `${this.chunkName}: cannot rebuild the sandbox: ${(err as Error).message}`,
        );
      }
    }
    const { m } = this.rt;
    const L = this.L;
    const o = ctx.observation;
    let flags = 0;
    if (ctx.params !== this.lastParams) flags |= 1;
    if (o.slo !== this.lastSlo) flags |= 2;
    if (ctx.state !== this.lastState || ctx.state === undefined) flags |= 4;
    if (ctx.service !== this.lastService) flags |= 8;
    if (o.operations !== undefined && hasKeys(o.operations)) flags |= 16;
    this.current = ctx;
    if (this.warnings.length > 0) this.warnings = [];
    m._lua_settop(L, BASE);
    m._lua_pushvalue(L, SLOT_RUN);
    m._lua_pushvalue(L, SLOT_POLICY);
    m._lua_pushboolean(L, this.style === 'script' ? 1 : 0);
    m._lua_pushnumber(L, flags);
    // One rule, whatever the value: counts (min, max, the catalogue's fleet signals) and the
    // clock are Lua integers; measurements (its load signals) are floats, even when whole, so a
    // policy meets the same types in check and eval as live (where they are fractional).
    pushNum(m, L, ctx.min);
    pushNum(m, L, ctx.max);
    pushNum(m, L, ctx.now);
    // Then the signals as plain numbers in catalogue order (a Lua table filled with lua_rawseti
    // cost ~0.4 µs more per call).
    const values = this.values;
    writeSignalValues(o, values, 0);
    for (let i = 0; i < SIGNAL_COUNT; i++) {
      if (IS_COUNT[i]) pushNum(m, L, values[i]);
      else m._lua_pushnumber(L, values[i]!);
    }
    let rc: number;
    try {
      rc = this.protectedCall(6 + SIGNAL_COUNT, 6, SLOT_MSGH);
    } catch (err) {
      this.current = undefined;
      this.lastState = undefined;
      return errorOutcome(
        'LS_ERR_POLICY_RUNTIME',
        `${this.stopWhere ?? this.chunkName}: sandbox fault (${(err as Error).message ?? err}); the policy is reloaded on the next call`,
      );
    }
    this.current = undefined;
    const warnings = this.warnings;
    if (warnings.length > 0) this.warnings = [];
    this.lastParams = ctx.params;
    this.lastSlo = o.slo;
    this.lastService = ctx.service;
    let logs: string[];
    let alerts: PolicyAlert[];
    let outcome: PolicyOutcome;
    if (rc !== LUA_OK) {
      logs = this.readLogs(-1);
      alerts = this.readAlerts(-1);
      const f = this.failure(rc);
      outcome = { ok: false, code: f.code, error: f.error, logs, alerts };
    } else {
      const nlogs = m._lua_tonumberx(L, -3, 0);
      const nalerts = m._lua_tonumberx(L, -2, 0);
      logs = nlogs === 0 ? [] : this.readLogs(nlogs);
      alerts = nalerts === 0 ? [] : this.readAlerts(nalerts);
      outcome = this.interpret(o.replicas, logs, alerts);
    }
    if (outcome.ok) {
      if (m._lua_toboolean(L, -1) !== 0) {
        // The common case: state empty and not replaced.
        outcome.state = {};
        this.lastState = outcome.state;
      } else {
        m._lua_getfield(L, SLOT_CTX, this.rt.cstr('state'));
        try {
          const state = readLuaTable(this.rt.lua, L, -1, {
            maxEntries: this.limits.maxStateEntries,
            maxDepth: this.limits.maxStateDepth,
            maxString: this.limits.maxStateString,
          });
          outcome.state = state;
          this.lastState = state;
        } catch (err) {
          if (!(err instanceof LuaValueError)) throw err;
          outcome = errorOutcome(
            'LS_ERR_POLICY_STATE',
            `${this.chunkName}:${this.decideLine}: ctx.${err.message}`,
            logs,
            alerts,
          );
        }
      }
    }
    if (!outcome.ok) this.lastState = undefined;
    if (warnings.length > 0) outcome.logs = [...warnings, ...outcome.logs];
    m._lua_settop(L, BASE);
    if (this.memUsed > this.limits.memoryBytes || !outcome.ok) this.collect();
    return outcome;
  }

  private interpret(replicas: number, logs: string[], alerts: PolicyAlert[]): PolicyOutcome {
    const { lua, m } = this.rt;
    const L = this.L;
    const kind = m._lua_tonumberx(L, -6, 0);
    if (kind === 2)
      return { ok: true, replicas: num(replicas), raw: null, reason: 'unchanged', logs, alerts };
    if (kind === 0)
      return this.badResult(
        logs,
        alerts,
        `${this.style === 'module' ? 'decide' : 'the script'} returned nil; expected a number or { replicas = n, reason = "..." }`,
      );
    if (kind !== 1) {
      const type = m._lua_type(L, -5) === LUA_TSTRING ? luaString(lua, L, -5) : '?';
      return kind === -2
        ? this.badResult(
            logs,
            alerts,
            `the result table's replicas field is ${type === 'nil' ? 'missing' : `a ${type}`}; expected a number`,
          )
        : this.badResult(
            logs,
            alerts,
            `expected a number or { replicas = n, reason = "..." }, got a ${type}`,
          );
    }
    const value = m._lua_tonumberx(L, -5, 0);
    const reason =
      m._lua_type(L, -4) === LUA_TSTRING
        ? luaString(lua, L, -4).slice(0, this.limits.maxLogLength)
        : undefined;
    if (Number.isNaN(value)) return this.badResult(logs, alerts, 'replicas is NaN');
    if (!Number.isFinite(value))
      return this.badResult(logs, alerts, `replicas is ${value > 0 ? 'inf' : '-inf'}`);
    if (value < 0) return this.badResult(logs, alerts, `replicas is negative (${value})`);
    if (value > this.limits.maxReplicas)
      return this.badResult(logs, alerts, `replicas ${value} is above ${this.limits.maxReplicas}`);
    // A fractional answer rounds up, as the HPA's ceil(current × ratio) does.
    const raw = reason === undefined ? value : { replicas: value, reason };
    return { ok: true, replicas: Math.max(0, Math.ceil(value - 1e-9)), reason, raw, logs, alerts };
  }

  private badResult(logs: string[], alerts: PolicyAlert[], reason: string): PolicyOutcome {
    const where = `${this.chunkName}:${this.decideLine}`;
    return errorOutcome(
      'LS_ERR_POLICY_RESULT',
      formatMessage(ERRORS.LS_ERR_POLICY_RESULT.message, { where, reason }),
      logs,
      alerts,
    );
  }

  /** The call's log lines; `n` < 0 reads the count from the logs table (after an error). */
  private readLogs(n: number): string[] {
    const out: string[] = [];
    n = this.countOf(SLOT_LOGS, n);
    for (let i = 1; i <= n; i++) {
      const line = this.stringAt(SLOT_LOGS, i);
      if (line !== undefined) out.push(line);
    }
    return out;
  }

  /** The call's alerts, stored as severity, message pairs. */
  private readAlerts(n: number): PolicyAlert[] {
    const out: PolicyAlert[] = [];
    n = this.countOf(SLOT_ALERTS, n);
    for (let i = 1; i <= n; i++) {
      const severity = this.stringAt(SLOT_ALERTS, 2 * i - 1);
      const message = this.stringAt(SLOT_ALERTS, 2 * i);
      if (severity !== undefined && message !== undefined)
        out.push({ severity: severity as PolicyAlert['severity'], message });
    }
    return out;
  }

  /** min(n, maxLogs); n < 0 reads the host-owned table's field "n". */
  private countOf(slot: number, n: number): number {
    if (n < 0) {
      const { m, cstr } = this.rt;
      m._lua_getfield(this.L, slot, cstr('n'));
      n = m._lua_tonumberx(this.L, -1, 0) || 0;
      m._lua_settop(this.L, -2);
    }
    return Math.min(n, this.limits.maxLogs);
  }

  /** t[i] of a host-owned table when it is a string. */
  private stringAt(slot: number, i: number): string | undefined {
    const { m, lua } = this.rt;
    m._lua_rawgeti(this.L, slot, i < 1024 ? SMALL_INTS[i]! : BigInt(i));
    const value = m._lua_type(this.L, -1) === LUA_TSTRING ? luaString(lua, this.L, -1) : undefined;
    m._lua_settop(this.L, -2);
    return value;
  }

  /** A full GC after a failure or when over the cap, with a fresh budget (finalizers are policy code). */
  private collect(): void {
    const { m } = this.rt;
    m._lua_settop(this.L, BASE);
    m._lua_pushvalue(this.L, SLOT_GC);
    try {
      this.protectedCall(0, 0, 0);
    } catch {
      // broken is set; the next evaluate rebuilds.
    }
    m._lua_settop(this.L, BASE);
  }

  // --- host functions called from Lua (inside the protected call) ---

  hostFetch(L: number): number {
    const { lua, m } = this.rt;
    const ctx = this.current!;
    const what = m._lua_tonumberx(L, 1, 0);
    if (what === 6) {
      pushJsValue(lua, L, SIGNAL_SHAPE);
      return 1;
    }
    if (what === 5) {
      lua.lua_pushstring(L, ctx.service ?? '');
      return 1;
    }
    const value =
      what === 1
        ? ctx.params
        : what === 2
          ? ctx.observation.slo
          : what === 3
            ? ctx.state
            : ctx.observation.operations;
    // State keys spelled as integers ("0", "17") were integer keys in Lua (see readLuaTable).
    pushJsValue(lua, L, value !== null && typeof value === 'object' ? value : {}, 0, what === 3);
    return 1;
  }

  hostMetric(L: number): number {
    const { lua, m } = this.rt;
    const ctx = this.current!;
    if (m._lua_type(L, 1) !== LUA_TSTRING) throw new Error('get_metric: the metric name must be a string');
    const name = luaString(lua, L, 1);
    const windowed = m._lua_type(L, 2) === LUA_TNUMBER;
    const value = windowed
      ? windowMean(ctx.history, ctx.observation, name, m._lua_tonumberx(L, 2, 0), ctx.now)
      : currentMetric(ctx.observation, name);
    if (value === undefined) {
      this.checkName(L, 'get_metric', name, ALL_NAMES);
      m._lua_pushnil(L);
    } else if (COUNT_NAMES.has(name) && !windowed) pushNumberValue(lua, L, value);
    else m._lua_pushnumber(L, value);
    return 1;
  }

  /**
   * Reports a metric name that is neither in the signal catalogue (`known`) nor a custom metric
   * this service has reported (now or in history): once per policy and name, as a log line of the
   * call, with the names that exist. The call still answers nil / {} (a custom metric may simply
   * not have reported yet).
   */
  private checkName(L: number, fname: string, name: string, known: ReadonlySet<string>): void {
    if (known.has(name) || this.reportedNames.has(name)) return;
    const ctx = this.current!;
    const custom = Object.keys(ctx.observation.metrics ?? {});
    if (custom.includes(name) || ctx.history.series(name, 3600, ctx.now).length > 0) return;
    this.reportedNames.add(name);
    const where = this.findWhere(L, 1) ?? this.chunkName;
    const list = [...known].join(', ') + (custom.length > 0 ? `; custom: ${custom.join(', ')}` : '');
    this.warnings.push(`${where}: ${fname}("${name}"): unknown metric (known: ${list}); reported once`);
  }

  /** ctx.history(metric, seconds) (or ctx:history(...)): values oldest first. */
  hostHistory(L: number): number {
    const { lua, m } = this.rt;
    const ctx = this.current!;
    const base = m._lua_type(L, 1) === LUA_TTABLE ? 2 : 1;
    if (m._lua_type(L, base) !== LUA_TSTRING) throw new Error('history: the metric name must be a string');
    if (m._lua_type(L, base + 1) !== LUA_TNUMBER) throw new Error('history: seconds must be a number');
    const metric = luaString(lua, L, base);
    const seconds = m._lua_tonumberx(L, base + 1, 0);
    if (!(seconds > 0) || !Number.isFinite(seconds))
      throw new Error(`history: seconds must be positive, got ${seconds}`);
    const series = ctx.history.series(metric, seconds, ctx.now);
    if (series.length === 0) this.checkName(L, 'ctx.history', metric, HISTORY_NAMES);
    const max = this.limits.maxHistoryPoints;
    pushNumberArray(
      lua,
      L,
      series.length > max ? series.slice(series.length - max) : series,
      COUNT_NAMES.has(metric),
    );
    return 1;
  }

  /** ctx.forecast(metric, horizon_s[, window_s[, season_s]]). */
  hostForecast(L: number): number {
    const { lua, m } = this.rt;
    const ctx = this.current!;
    const base = m._lua_type(L, 1) === LUA_TTABLE ? 2 : 1;
    if (m._lua_type(L, base) !== LUA_TSTRING) throw new Error('forecast: the metric name must be a string');
    if (m._lua_type(L, base + 1) !== LUA_TNUMBER) throw new Error('forecast: horizon_s must be a number');
    const metric = luaString(lua, L, base);
    const horizon = m._lua_tonumberx(L, base + 1, 0);
    if (!(horizon >= 0) || !Number.isFinite(horizon))
      throw new Error(`forecast: horizon_s must be >= 0, got ${horizon}`);
    const opt = (i: number) =>
      m._lua_type(L, base + i) === LUA_TNUMBER ? m._lua_tonumberx(L, base + i, 0) : undefined;
    const window = opt(2);
    if (window !== undefined && !(window > 0 && window <= 7 * 86400))
      throw new Error('forecast: window_s must be in (0, 604800]');
    const value = forecastMetric(ctx.history, ctx.observation, metric, horizon, ctx.now, window, opt(3));
    if (value === undefined) this.checkName(L, 'ctx.forecast', metric, HISTORY_NAMES);
    if (value === undefined || !Number.isFinite(value)) m._lua_pushnil(L);
    else m._lua_pushnumber(L, value);
    return 1;
  }

  /**
   * Charges a pcall or a coroutine switch (see the prelude) to the budget. `host_charge(0)` (os.clock)
   * charges nothing and returns the instructions used so far in this call, counted at the hook's
   * granularity: deterministic, because protectedCall restarts the hook's countdown on every call.
   */
  hostCharge(L: number): number {
    if (this.rt.m._lua_type(L, 1) === LUA_TNUMBER) {
      this.rt.m._lua_pushnumber(L, this.used);
      return 1;
    }
    this.used += CALL_COST;
    if (!this.exceeded && this.used > this.limits.instructions) {
      this.exceeded = true;
      this.stopWhere ??= this.findWhere(L, 1);
      const { m, hookPtr } = this.rt;
      m._lua_sethook(L, hookPtr, LUA_MASKCOUNT, 1);
      if (L !== this.L) m._lua_sethook(this.L, hookPtr, LUA_MASKCOUNT, 1);
    }
    if (this.exceeded) {
      this.rt.m._lua_rawgeti(L, LUA_REGISTRYINDEX, this.budgetMsgRef);
      return this.rt.m._lua_error(L);
    }
    return 0;
  }

  close(): void {
    if (this.closed) return;
    this.destroy();
  }

  /** lua_close with every finalizer held to a tiny budget, then forget the state. */
  private destroy(): void {
    this.closed = true;
    if (!this.L) return;
    const { rt } = this;
    const prev = rt.active;
    rt.active = this;
    this.exceeded = true;
    try {
      if (!this.broken) {
        rt.m._lua_sethook(this.L, rt.hookPtr, LUA_MASKCOUNT, 1);
        rt.m._lua_close(this.L);
      }
    } catch {
      // A fault while closing leaks this state's memory; nothing else to do.
    } finally {
      rt.active = prev;
      rt.vms[this.id] = undefined;
      this.L = 0;
      this.memUsed = 0;
    }
  }
}

/** "sandbox:91: " / "signals:3: ": a position in the sandbox's own chunks (never a policy's: those are "@file"). */
const INTERNAL_POSITION = /^(?:sandbox|signals):\d+: /;
/** The prelude's locals that a C function's argument error can name, and what the policy called. */
const PUBLIC_NAMES: Record<string, string> = {
  real_date: 'os.date',
  real_time: 'os.time',
  real_pcall: 'pcall',
  real_setmetatable: 'setmetatable',
  real_collectgarbage: 'collectgarbage',
  co_resume: 'coroutine.resume',
  co_wrap: 'coroutine.wrap',
  resume: 'coroutine.wrap',
  host_metric: 'get_metric',
  host_history: 'ctx.history',
  host_forecast: 'ctx.forecast',
  host_charge: 'pcall',
};
const INTERNAL_NAME = new RegExp(`'(${Object.keys(PUBLIC_NAMES).join('|')})'`, 'g');

/** What Lua shows for chunk "@name" in messages (luaO_chunkid: LUA_IDSIZE 60, long names keep their tail). */
function shortSource(name: string): string {
  const bytes = Buffer.byteLength(name);
  if (bytes <= 59) return name;
  return (
    '...' +
    Buffer.from(name)
      .subarray(bytes - 56)
      .toString()
  );
}

function hasKeys(o: object): boolean {
  for (const _ in o) return true;
  return false;
}

/** BigInts for small whole numbers: BigInt() per push was a fifth of an evaluate's time. */
const SMALL_INTS = Array.from({ length: 1024 }, (_, i) => BigInt(i));

function pushNum(m: RawLua, L: number, v: number | undefined): void {
  if (typeof v !== 'number') m._lua_pushinteger(L, 0n);
  else if (Number.isSafeInteger(v)) m._lua_pushinteger(L, v >= 0 && v < 1024 ? SMALL_INTS[v]! : BigInt(v));
  else m._lua_pushnumber(L, v);
}

function num(v: number | undefined): number {
  return typeof v === 'number' ? v : 0;
}

function errorOutcome(
  code: ErrorCode,
  error: string,
  logs: string[] = [],
  alerts: PolicyAlert[] = [],
): PolicyOutcome {
  return { ok: false, code, error, logs, alerts };
}
