/**
 * One call of a Lua policy (Policy.evaluate of a LuaVm): the context goes in as one lua_pcallk of
 * the prelude's runner with the signals as plain numbers, and the outcome comes out of the values
 * the runner returns (result kind, replicas, reason, log and alert counts, whether state is
 * untouched), read through the raw C API.
 */
import { ERRORS, formatMessage } from '../core/errors.js';
import type { PolicyAlert, PolicyContext, PolicyOutcome } from '../policy/policy.js';
import { SIGNALS, SIGNAL_COUNT, writeSignalValues } from '../signals/index.js';
import { LuaValueError, readLuaTable } from './lua-values.js';
import {
  BASE,
  SLOT_ALERTS,
  SLOT_CTX,
  SLOT_LOGS,
  SLOT_MSGH,
  SLOT_POLICY,
  SLOT_RUN,
  type LuaVm,
} from './lua-vm.js';
import { classifyFailure, errorOutcome } from './policy-failure.js';
import { LUA_OK, LUA_TSTRING, luaString, type RawLua } from './raw-lua.js';

/** Per catalogue index: a count (a fleet signal: an integer in Lua) rather than a measurement (a float). */
const IS_COUNT = SIGNALS.map((s) => s.kind === 'fleet');

/** Policy.evaluate of `vm`: never throws. A JS exception here means the state cannot be trusted: rebuild it. */
export function evaluateLuaPolicy(vm: LuaVm, ctx: PolicyContext): PolicyOutcome {
  try {
    return evaluateOnce(vm, ctx);
  } catch (err) {
    vm.broken = true;
    vm.lastState = undefined;
    return errorOutcome(
      'LS_ERR_POLICY_RUNTIME',
      `${vm.chunkName}: sandbox fault (${err instanceof Error ? err.message : String(err)}); the policy is reloaded on the next call`,
    );
  }
}

function evaluateOnce(vm: LuaVm, ctx: PolicyContext): PolicyOutcome {
  if (vm.closed) return errorOutcome('LS_ERR_POLICY_RUNTIME', `${vm.chunkName}: policy is closed`);
  if (vm.broken) {
    try {
      vm.rebuild();
    } catch (err) {
      return errorOutcome(
        'LS_ERR_POLICY_RUNTIME',
        `${vm.chunkName}: cannot rebuild the sandbox: ${(err as Error).message}`,
      );
    }
  }
  pushCall(vm, ctx);
  let rc: number;
  try {
    rc = vm.protectedCall(6 + SIGNAL_COUNT, 6, SLOT_MSGH);
  } catch (err) {
    vm.current = undefined;
    vm.lastState = undefined;
    return errorOutcome(
      'LS_ERR_POLICY_RUNTIME',
      `${vm.stopWhere ?? vm.chunkName}: sandbox fault (${(err as Error).message ?? err}); the policy is reloaded on the next call`,
    );
  }
  vm.current = undefined;
  const warnings = vm.warnings;
  if (warnings.length > 0) vm.warnings = [];
  vm.lastParams = ctx.params;
  vm.lastSlo = ctx.observation.slo;
  vm.lastService = ctx.service;
  const outcome = readOutcome(vm, rc, ctx.observation.replicas);
  if (!outcome.ok) vm.lastState = undefined;
  if (warnings.length > 0) outcome.logs = [...warnings, ...outcome.logs];
  vm.rt.m._lua_settop(vm.L, BASE);
  if (vm.memUsed > vm.limits.memoryBytes || !outcome.ok) vm.collect();
  return outcome;
}

/**
 * Pushes the runner, the policy and the call's arguments. Flags name the tables of ctx that
 * changed since the previous call (the runner fetches only those through host_fetch).
 */
function pushCall(vm: LuaVm, ctx: PolicyContext): void {
  const { m } = vm.rt;
  const L = vm.L;
  const o = ctx.observation;
  let flags = 0;
  if (ctx.params !== vm.lastParams) flags |= 1;
  if (o.slo !== vm.lastSlo) flags |= 2;
  if (ctx.state !== vm.lastState || ctx.state === undefined) flags |= 4;
  if (ctx.service !== vm.lastService) flags |= 8;
  if (o.operations !== undefined && hasKeys(o.operations)) flags |= 16;
  vm.current = ctx;
  if (vm.warnings.length > 0) vm.warnings = [];
  m._lua_settop(L, BASE);
  m._lua_pushvalue(L, SLOT_RUN);
  m._lua_pushvalue(L, SLOT_POLICY);
  m._lua_pushboolean(L, vm.style === 'script' ? 1 : 0);
  m._lua_pushnumber(L, flags);
  // One rule, whatever the value: counts (min, max, the catalogue's fleet signals) and the
  // clock are Lua integers; measurements (its load signals) are floats, even when whole, so a
  // policy meets the same types in check and eval as live (where they are fractional).
  pushNum(m, L, ctx.min);
  pushNum(m, L, ctx.max);
  pushNum(m, L, ctx.now);
  // Then the signals as plain numbers in catalogue order (a Lua table filled with lua_rawseti
  // cost ~0.4 µs more per call).
  const values = vm.values;
  writeSignalValues(o, values, 0);
  for (let i = 0; i < SIGNAL_COUNT; i++) {
    if (IS_COUNT[i]) pushNum(m, L, values[i]);
    else m._lua_pushnumber(L, values[i]!);
  }
}

/** The outcome of a finished call: logs, alerts, the result and, when the policy changed it, ctx.state. */
function readOutcome(vm: LuaVm, rc: number, replicas: number): PolicyOutcome {
  if (rc !== LUA_OK) {
    const logs = readLogs(vm, -1);
    const alerts = readAlerts(vm, -1);
    const f = classifyFailure(vm, rc, vm.errorText());
    return { ok: false, code: f.code, error: f.error, logs, alerts };
  }
  const { m } = vm.rt;
  const L = vm.L;
  const nlogs = m._lua_tonumberx(L, -3, 0);
  const nalerts = m._lua_tonumberx(L, -2, 0);
  const logs = nlogs === 0 ? [] : readLogs(vm, nlogs);
  const alerts = nalerts === 0 ? [] : readAlerts(vm, nalerts);
  const outcome = interpret(vm, replicas, logs, alerts);
  if (!outcome.ok) return outcome;
  if (m._lua_toboolean(L, -1) !== 0) {
    // The common case: state empty and not replaced.
    outcome.state = {};
    vm.lastState = outcome.state;
    return outcome;
  }
  m._lua_getfield(L, SLOT_CTX, vm.rt.cstr('state'));
  try {
    const state = readLuaTable(vm.rt.lua, L, -1, {
      maxEntries: vm.limits.maxStateEntries,
      maxDepth: vm.limits.maxStateDepth,
      maxString: vm.limits.maxStateString,
    });
    outcome.state = state;
    vm.lastState = state;
    return outcome;
  } catch (err) {
    if (!(err instanceof LuaValueError)) throw err;
    return errorOutcome(
      'LS_ERR_POLICY_STATE',
      `${vm.chunkName}:${vm.decideLine}: ctx.${err.message}`,
      logs,
      alerts,
    );
  }
}

/** The runner's result kind and values (at -6..-4) as an outcome: replicas rounded up, or why they are refused. */
function interpret(vm: LuaVm, replicas: number, logs: string[], alerts: PolicyAlert[]): PolicyOutcome {
  const { lua, m } = vm.rt;
  const L = vm.L;
  const kind = m._lua_tonumberx(L, -6, 0);
  if (kind === 2) return { ok: true, replicas: num(replicas), raw: null, reason: 'unchanged', logs, alerts };
  if (kind === 0)
    return badResult(
      vm,
      logs,
      alerts,
      `${vm.style === 'module' ? 'decide' : 'the script'} returned nil; expected a number or { replicas = n, reason = "..." }`,
    );
  if (kind !== 1) {
    const type = m._lua_type(L, -5) === LUA_TSTRING ? luaString(lua, L, -5) : '?';
    return kind === -2
      ? badResult(
          vm,
          logs,
          alerts,
          `the result table's replicas field is ${type === 'nil' ? 'missing' : `a ${type}`}; expected a number`,
        )
      : badResult(vm, logs, alerts, `expected a number or { replicas = n, reason = "..." }, got a ${type}`);
  }
  const value = m._lua_tonumberx(L, -5, 0);
  const reason =
    m._lua_type(L, -4) === LUA_TSTRING ? luaString(lua, L, -4).slice(0, vm.limits.maxLogLength) : undefined;
  if (Number.isNaN(value)) return badResult(vm, logs, alerts, 'replicas is NaN');
  if (!Number.isFinite(value))
    return badResult(vm, logs, alerts, `replicas is ${value > 0 ? 'inf' : '-inf'}`);
  if (value < 0) return badResult(vm, logs, alerts, `replicas is negative (${value})`);
  if (value > vm.limits.maxReplicas)
    return badResult(vm, logs, alerts, `replicas ${value} is above ${vm.limits.maxReplicas}`);
  // A fractional answer rounds up, as the HPA's ceil(current × ratio) does.
  const raw = reason === undefined ? value : { replicas: value, reason };
  return { ok: true, replicas: Math.max(0, Math.ceil(value - 1e-9)), reason, raw, logs, alerts };
}

function badResult(vm: LuaVm, logs: string[], alerts: PolicyAlert[], reason: string): PolicyOutcome {
  const where = `${vm.chunkName}:${vm.decideLine}`;
  return errorOutcome(
    'LS_ERR_POLICY_RESULT',
    formatMessage(ERRORS.LS_ERR_POLICY_RESULT.message, { where, reason }),
    logs,
    alerts,
  );
}

/** The call's log lines; `n` < 0 reads the count from the logs table (after an error). */
function readLogs(vm: LuaVm, n: number): string[] {
  const out: string[] = [];
  n = countOf(vm, SLOT_LOGS, n);
  for (let i = 1; i <= n; i++) {
    const line = stringAt(vm, SLOT_LOGS, i);
    if (line !== undefined) out.push(line);
  }
  return out;
}

/** The call's alerts, stored as severity, message pairs. */
function readAlerts(vm: LuaVm, n: number): PolicyAlert[] {
  const out: PolicyAlert[] = [];
  n = countOf(vm, SLOT_ALERTS, n);
  for (let i = 1; i <= n; i++) {
    const severity = stringAt(vm, SLOT_ALERTS, 2 * i - 1);
    const message = stringAt(vm, SLOT_ALERTS, 2 * i);
    if (severity !== undefined && message !== undefined)
      out.push({ severity: severity as PolicyAlert['severity'], message });
  }
  return out;
}

/** min(n, maxLogs); n < 0 reads the host-owned table's field "n". */
function countOf(vm: LuaVm, slot: number, n: number): number {
  if (n < 0) {
    const { m, cstr } = vm.rt;
    m._lua_getfield(vm.L, slot, cstr('n'));
    n = m._lua_tonumberx(vm.L, -1, 0) || 0;
    m._lua_settop(vm.L, -2);
  }
  return Math.min(n, vm.limits.maxLogs);
}

/** t[i] of a host-owned table when it is a string. */
function stringAt(vm: LuaVm, slot: number, i: number): string | undefined {
  const { m, lua } = vm.rt;
  m._lua_rawgeti(vm.L, slot, i < 1024 ? SMALL_INTS[i]! : BigInt(i));
  const value = m._lua_type(vm.L, -1) === LUA_TSTRING ? luaString(lua, vm.L, -1) : undefined;
  m._lua_settop(vm.L, -2);
  return value;
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
