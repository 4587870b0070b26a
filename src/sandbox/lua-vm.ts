/**
 * One Lua state holding one policy: building the sandbox in it (libraries, the prelude, the
 * policy chunk, its style), the protected call with the instruction budget and the memory cap
 * armed, where an error happened, and closing. A call of the policy is evaluate-lua-policy.ts;
 * the functions the policy reaches in the host are host-functions.ts.
 *
 * State machine: ready → (evaluate)* → closed. A wasm fault (a trap, not a Lua error) marks the
 * state broken; the next evaluate rebuilds it from the source (rebuild()).
 */
import { LuascaleError } from '../core/errors.js';
import type { PolicyContext } from '../policy/policy.js';
import { SIGNAL_COUNT } from '../signals/index.js';
import type { Runtime, RuntimeVm } from './lua-runtime.js';
import { findDecideDefinition, isModuleStyle } from './module-style.js';
import { loadRunError, shortSource, syntaxError } from './policy-failure.js';
import {
  AR_CURRENTLINE,
  AR_SOURCE,
  LUA_ERRMEM,
  LUA_MASKCOUNT,
  LUA_OK,
  LUA_REGISTRYINDEX,
  LUA_TFUNCTION,
  LUA_TNUMBER,
  LUA_TSTRING,
  luaString,
} from './raw-lua.js';
import type { SandboxLimits } from './sandbox-limits.js';
import { SANDBOX_PRELUDE } from './sandbox-prelude.js';

/** Stack slots the host keeps filled between calls. */
export const SLOT_RUN = 1;
export const SLOT_POLICY = 2;
export const SLOT_MSGH = 3;
export const SLOT_LOGS = 4;
export const SLOT_ALERTS = 5;
export const SLOT_CTX = 6;
const SLOT_GC = 7;
const SLOT_LOAD_MODULE = 8;
/** The stack's height between calls: the slots above. */
export const BASE = 8;

let nextVmId = 1;

/** Instructions charged per pcall/xpcall/coroutine resume: each costs a JS exception when it unwinds. */
const CALL_COST = 1000;

/**
 * A policy's Lua state. Fields without `private` are read (and the per-call ones written) by
 * evaluate-lua-policy.ts, host-functions.ts, policy-failure.ts and the runtime's callbacks.
 */
export class LuaVm implements RuntimeVm {
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
  /** Instructions the call being made has used (at the hook's granularity, plus CALL_COST per pcall). */
  used = 0;
  exceeded = false;
  stopWhere: string | undefined;
  errWhere: string | undefined;
  /** The signals of the call being made, in catalogue order (reused: no allocation per call). */
  readonly values = new Float64Array(SIGNAL_COUNT);
  private srcPtr = 0;
  readonly shortSrc: string;
  decideLine = 1;
  style: 'module' | 'script' = 'script';
  styleReason = '';
  broken = false;
  closed = false;
  /** The context of the call being made. */
  current: PolicyContext | undefined;
  /** What the state holds from the previous call (host_fetch is skipped for what did not change). */
  lastParams: unknown = undefined;
  lastSlo: unknown = undefined;
  lastService: string | undefined = undefined;
  lastState: unknown = undefined;
  /** Unknown metric names already reported (once per policy). */
  readonly reportedNames = new Set<string>();
  /** Host warnings of the call being made (unknown metric names), appended to its logs. */
  warnings: string[] = [];
  private budgetMsgRef = 0n;
  private memoryMsgRef = 0n;

  constructor(
    readonly rt: Runtime,
    readonly source: string,
    readonly chunkName: string,
    readonly limits: SandboxLimits,
  ) {
    this.shortSrc = shortSource(chunkName);
    this.hardLimit = limits.memoryBytes + Math.max(1024 * 1024, Math.floor(limits.memoryBytes / 4));
    this.build();
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
      if (syntax !== undefined) throw syntaxError(this, syntax);
      this.describeFunction(-1, true);
      this.detectStyle();
      m._lua_settop(L, BASE);
    } catch (err) {
      this.destroy();
      throw err;
    }
  }

  /** Throws the broken state away and builds it again from the source. */
  rebuild(): void {
    this.destroy();
    this.broken = false;
    this.closed = false;
    this.build();
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
      if (defined !== undefined) throw loadRunError(this, rc, this.errorText());
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
  protectedCall(nargs: number, nresults: number, msgh: number): number {
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
  findWhere(L: number, from: number): string | undefined {
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
  errorText(): string {
    const { lua, m } = this.rt;
    const t = m._lua_type(this.L, -1);
    if (t === LUA_TSTRING) return luaString(lua, this.L, -1);
    if (t === LUA_TNUMBER) return String(m._lua_tonumberx(this.L, -1, 0));
    return `(error object is a ${lua.lua_typename(this.L, t)} value)`;
  }

  /** A full GC after a failure or when over the cap, with a fresh budget (finalizers are policy code). */
  collect(): void {
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

  // --- the runtime's callbacks (inside the protected call) ---

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
