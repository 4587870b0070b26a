/**
 * The host functions a policy reaches through the prelude: host_fetch (ctx's tables and the
 * signal names), get_metric, ctx.history and ctx.forecast. Each runs inside the VM's protected
 * call; a JS exception it throws becomes a Lua error (see lua-runtime.ts).
 */
import { LuascaleError } from '../core/errors.js';
import type { PolicyContext } from '../policy/policy.js';
import { HISTORY_SIGNALS, SIGNALS, SIGNAL_NAMES } from '../signals/index.js';
import { pushJsValue, pushNumberArray, pushNumberValue, type PushOptions } from './lua-values.js';
import { currentMetric, forecastMetric, windowMean } from './metric-lookup.js';
import { LUA_TNUMBER, LUA_TSTRING, LUA_TTABLE, luaString } from './raw-lua.js';
import type { Runtime } from './lua-runtime.js';
import type { SandboxLimits } from './sandbox-limits.js';

/** What the host functions read and write on the VM whose call is running (lua-vm.ts's LuaVm). */
export interface HostSite {
  readonly rt: Runtime;
  readonly limits: Readonly<SandboxLimits>;
  readonly chunkName: string;
  /** The context of the call being made. */
  readonly current: PolicyContext | undefined;
  /** Unknown metric names already reported (once per policy). */
  readonly reportedNames: Set<string>;
  /** Host warnings of the call being made (unknown metric names), appended to its logs. */
  readonly warnings: string[];
  /** "file:line" of the innermost stack level running the policy's own code. */
  findWhere(L: number, from: number): string | undefined;
}

/** What the prelude builds ctx and the get_* helpers from (host_fetch(6)): names in catalogue order. */
const SIGNAL_SHAPE = {
  names: SIGNAL_NAMES,
  getters: Object.fromEntries(
    SIGNALS.flatMap((s): Array<[string, string]> => ('getter' in s ? [[s.getter, s.name]] : [])),
  ),
};

/** Counts (the catalogue's fleet signals): integers in Lua, where measurements are floats. */
const COUNT_NAMES = new Set<string>(SIGNALS.filter((s) => s.kind === 'fleet').map((s) => s.name));
/** Names `ctx.history` / `ctx.forecast` know besides custom metrics. */
const HISTORY_NAMES = new Set<string>(HISTORY_SIGNALS);
const ALL_NAMES = new Set<string>(SIGNAL_NAMES);
// get_metric also reads `draining` and `startup_s` (docs/policies.md): absent (no startup measured
// yet) is nil, not an unknown name to report.
const GET_METRIC_EXTRAS: ReadonlySet<string> = new Set(['draining', 'startup_s']);

/** A host function that takes a metric name, and the names it knows besides custom metrics. */
interface NameCheck {
  fname: string;
  known: ReadonlySet<string>;
}
const GET_METRIC: NameCheck = { fname: 'get_metric', known: ALL_NAMES };
const HISTORY: NameCheck = { fname: 'ctx.history', known: HISTORY_NAMES };
const FORECAST: NameCheck = { fname: 'ctx.forecast', known: HISTORY_NAMES };

/** State keys spelled as integers ("0", "17") were integer keys in Lua (see readLuaTable). */
const STATE_KEYS: PushOptions = { integerKeys: true };

/** host_fetch(what): 1 params, 2 slo, 3 state, 4 operations, 5 the service's name, 6 the signal names. */
export function hostFetch(vm: HostSite, L: number): number {
  const { lua, m } = vm.rt;
  const ctx = vm.current!;
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
  pushJsValue(
    lua,
    L,
    value !== null && typeof value === 'object' ? value : {},
    what === 3 ? STATE_KEYS : undefined,
  );
  return 1;
}

/** get_metric(name[, window_s]): the current value, or the mean over the window. */
export function hostMetric(vm: HostSite, L: number): number {
  const { lua, m } = vm.rt;
  const ctx = vm.current!;
  if (m._lua_type(L, 1) !== LUA_TSTRING) throw misuse('get_metric', 'the metric name must be a string');
  const name = luaString(lua, L, 1);
  const windowed = m._lua_type(L, 2) === LUA_TNUMBER;
  const value = windowed
    ? windowMean(ctx, name, m._lua_tonumberx(L, 2, 0))
    : currentMetric(ctx.observation, name);
  if (value === undefined) {
    checkName(vm, L, name, GET_METRIC);
    m._lua_pushnil(L);
  } else if (COUNT_NAMES.has(name) && !windowed) pushNumberValue(lua, L, value);
  else m._lua_pushnumber(L, value);
  return 1;
}

/** ctx.history(metric, seconds) (or ctx:history(...)): values oldest first. */
export function hostHistory(vm: HostSite, L: number): number {
  const { lua, m } = vm.rt;
  const ctx = vm.current!;
  const base = m._lua_type(L, 1) === LUA_TTABLE ? 2 : 1;
  if (m._lua_type(L, base) !== LUA_TSTRING) throw misuse('history', 'the metric name must be a string');
  if (m._lua_type(L, base + 1) !== LUA_TNUMBER) throw misuse('history', 'seconds must be a number');
  const metric = luaString(lua, L, base);
  const seconds = m._lua_tonumberx(L, base + 1, 0);
  if (!(seconds > 0) || !Number.isFinite(seconds))
    throw misuse('history', `seconds must be positive, got ${seconds}`);
  const series = ctx.history.series(metric, seconds, ctx.now);
  if (series.length === 0) checkName(vm, L, metric, HISTORY);
  const max = vm.limits.maxHistoryPoints;
  pushNumberArray(
    lua,
    L,
    series.length > max ? series.slice(series.length - max) : series,
    COUNT_NAMES.has(metric),
  );
  return 1;
}

/** ctx.forecast(metric, horizon_s[, window_s[, season_s]]). */
export function hostForecast(vm: HostSite, L: number): number {
  const { lua, m } = vm.rt;
  const ctx = vm.current!;
  const base = m._lua_type(L, 1) === LUA_TTABLE ? 2 : 1;
  if (m._lua_type(L, base) !== LUA_TSTRING) throw misuse('forecast', 'the metric name must be a string');
  if (m._lua_type(L, base + 1) !== LUA_TNUMBER) throw misuse('forecast', 'horizon_s must be a number');
  const metric = luaString(lua, L, base);
  const horizon = m._lua_tonumberx(L, base + 1, 0);
  if (!(horizon >= 0) || !Number.isFinite(horizon))
    throw misuse('forecast', `horizon_s must be >= 0, got ${horizon}`);
  const opt = (i: number) =>
    m._lua_type(L, base + i) === LUA_TNUMBER ? m._lua_tonumberx(L, base + i, 0) : undefined;
  const window = opt(2);
  if (window !== undefined && !(window > 0 && window <= 7 * 86400))
    throw misuse('forecast', 'window_s must be in (0, 604800]');
  const value = forecastMetric(ctx, metric, { horizonS: horizon, windowS: window, seasonS: opt(3) });
  if (value === undefined) checkName(vm, L, metric, FORECAST);
  if (value === undefined || !Number.isFinite(value)) m._lua_pushnil(L);
  else m._lua_pushnumber(L, value);
  return 1;
}

/**
 * Reports a metric name that is neither known to `fname` (the signal catalogue's names) nor a custom metric
 * this service has reported (now or in history): once per policy and name, as a log line of the
 * call, with the names that exist. The call still answers nil / {} (a custom metric may simply
 * not have reported yet).
 */
function checkName(vm: HostSite, L: number, name: string, { fname, known }: NameCheck): void {
  if (known.has(name) || vm.reportedNames.has(name)) return;
  if (fname === 'get_metric' && GET_METRIC_EXTRAS.has(name)) return;
  const ctx = vm.current!;
  const custom = Object.keys(ctx.observation.metrics ?? {});
  if (custom.includes(name) || ctx.history.series(name, 3600, ctx.now).length > 0) return;
  vm.reportedNames.add(name);
  const where = vm.findWhere(L, 1) ?? vm.chunkName;
  const list = [...known].join(', ') + (custom.length > 0 ? `; custom: ${custom.join(', ')}` : '');
  vm.warnings.push(`${where}: ${fname}("${name}"): unknown metric (known: ${list}); reported once`);
}

/** A Lua caller's mistake in a host function: the runtime raises it as a Lua error with this message. */
function misuse(where: string, reason: string): LuascaleError {
  return new LuascaleError('LS_ERR_POLICY_RUNTIME', { where, reason });
}
