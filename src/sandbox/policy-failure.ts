/**
 * What a failed Lua call becomes: an error code (budget, memory, syntax or runtime) and a message
 * that names the policy's file and line, never the sandbox's own chunks or locals.
 */
import { ERRORS, LuascaleError, formatMessage, type ErrorCode } from '../core/errors.js';
import type { PolicyAlert, PolicyOutcome } from '../policy/policy.js';
import { LUA_ERRMEM } from './raw-lua.js';
import type { SandboxLimits } from './sandbox-limits.js';

/** What a VM knows about where and why its last call stopped (lua-vm.ts's LuaVm). */
export interface FailureSite {
  readonly chunkName: string;
  /** What Lua shows for the chunk in messages (shortSource(chunkName)). */
  readonly shortSrc: string;
  readonly limits: Readonly<SandboxLimits>;
  /** The line of the policy's decide function (or 1): where a failure without a line is placed. */
  readonly decideLine: number;
  /** The budget ran out. */
  readonly exceeded: boolean;
  readonly memSoftHit: boolean;
  readonly memHardHit: boolean;
  /** "file:line" where the hook stopped the call. */
  readonly stopWhere: string | undefined;
  /** "file:line" where the message handler saw the error. */
  readonly errWhere: string | undefined;
}

/** A failed call, classified. */
export interface Failure {
  code: ErrorCode;
  error: string;
  params: Record<string, unknown>;
}

/** Classifies a failed call (`text`: its error value as text): budget, memory, or a runtime error, with file:line. */
export function classifyFailure(site: FailureSite, rc: number, text: string): Failure {
  const at = (code: ErrorCode, params: Record<string, unknown>) => ({
    code,
    params,
    error: formatMessage(ERRORS[code].message, params),
  });
  if (site.exceeded) {
    return at('LS_ERR_POLICY_BUDGET', {
      where: site.stopWhere ?? splitMessage(site, text).where,
      budget: site.limits.instructions,
    });
  }
  if (site.memSoftHit || site.memHardHit) {
    if (rc === LUA_ERRMEM || /not enough memory|memory limit exceeded/.test(text)) {
      const where = site.stopWhere ?? site.errWhere ?? `${site.chunkName}:${site.decideLine}`;
      return at('LS_ERR_POLICY_MEMORY', { where, limit: site.limits.memoryBytes });
    }
  }
  const { where, reason } = splitMessage(site, text);
  return at('LS_ERR_POLICY_RUNTIME', { where, reason });
}

/** The LuascaleError for a syntax error message of luaL_loadbuffer. */
export function syntaxError(site: FailureSite, msg: string): LuascaleError {
  const { where, reason } = splitMessage(site, msg);
  return new LuascaleError('LS_ERR_POLICY_SYNTAX', { where, reason });
}

/** The LuascaleError for a failure while a module's top level ran at load. */
export function loadRunError(site: FailureSite, rc: number, text: string): LuascaleError {
  const f = classifyFailure(site, rc, text);
  return new LuascaleError(f.code, f.params, { message: f.error });
}

/** A failed outcome. */
export function errorOutcome(
  code: ErrorCode,
  error: string,
  logs: string[] = [],
  alerts: PolicyAlert[] = [],
): PolicyOutcome {
  return { ok: false, code, error, logs, alerts };
}

/**
 * Splits "short_src:line: reason" into our where (full chunk name) and the reason. A position
 * inside the sandbox's own chunks and the wrappers' local names never reach the message: the
 * policy's line (from the message handler) stands for them, and the public name for the local.
 */
function splitMessage(site: FailureSite, msg: string): { where: string; reason: string } {
  const oneLine = msg
    .replace(/\s*\n\s*/g, ' ')
    .slice(0, 500)
    .replace(INTERNAL_POSITION, '')
    .replace(INTERNAL_NAME, (_, name: string) => `'${PUBLIC_NAMES[name]}'`);
  const prefix = site.shortSrc + ':';
  if (oneLine.startsWith(prefix)) {
    const m = /^(\d+): ?(.*)$/s.exec(oneLine.slice(prefix.length));
    if (m) return { where: `${site.chunkName}:${m[1]}`, reason: m[2]! };
  }
  return {
    where: site.errWhere ?? site.stopWhere ?? `${site.chunkName}:${site.decideLine}`,
    reason: oneLine,
  };
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
export function shortSource(name: string): string {
  const bytes = Buffer.byteLength(name);
  if (bytes <= 59) return name;
  return (
    '...' +
    Buffer.from(name)
      .subarray(bytes - 56)
      .toString()
  );
}
