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
 *   arguments (see sandbox-prelude.ts, evaluate-lua-policy.ts); never wasmoon's JS object proxies.
 * A C function that runs long without executing Lua instructions (a pathological string.find) is
 * not stopped here: SandboxWorker adds the wall-clock backstop.
 *
 * The pieces: lua-runtime.ts (the thread's wasm module and shared callbacks), lua-vm.ts (one
 * policy's state and its budget), evaluate-lua-policy.ts (one call), host-functions.ts (what a
 * policy calls in the host), policy-failure.ts (errors with file:line), module-style.ts.
 */
import { readFile } from 'node:fs/promises';
import { LuascaleError } from '../core/errors.js';
import type { Policy } from '../policy/policy.js';
import { evaluateLuaPolicy } from './evaluate-lua-policy.js';
import { luaRuntime } from './lua-runtime.js';
import { LuaVm } from './lua-vm.js';
import { DEFAULT_SANDBOX_LIMITS, type SandboxLimits } from './sandbox-limits.js';

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
  const vm = new LuaVm(runtime, source, chunkName, limits);
  return {
    name: chunkName,
    source,
    style: vm.style,
    styleReason: vm.styleReason,
    evaluate: (ctx) => evaluateLuaPolicy(vm, ctx),
    isolatesState: true,
    memoryUsed: () => vm.memUsed,
    close: () => vm.close(),
  };
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
