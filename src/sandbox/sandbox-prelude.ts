/**
 * The trusted Lua code that turns a fresh Lua state into the policy sandbox. It runs once per
 * state, before the policy is loaded, with the host's C functions as arguments, and returns the
 * per-call runner. Everything it keeps in locals (the real library tables, rawset, collectgarbage)
 * is unreachable from policy code: there is no debug library to read upvalues with.
 *
 * Why a Lua runner instead of building `ctx` from JS field by field: one `lua_pcallk` with the
 * signals as plain numbers, in the order of the signal catalogue (src/signals/catalog.ts), costs
 * ~1 µs; 40 `lua_setfield` round trips through the wasm boundary cost ~3 µs, and a JS object
 * handed over as a proxy ~37 µs (measured on wasmoon 1.16). The runner stores the numbers into
 * ctx by the catalogue's names, which host_fetch(6) gives once.
 */
export const SANDBOX_PRELUDE = String.raw`
local host_fetch, host_metric, host_history, host_forecast, host_charge, MAX_LOGS, MAX_LOG_LEN = ...
local type, rawget, rawset, rawequal, next, error, tostring, select = type, rawget, rawset, rawequal, next, error, tostring, select
local setmetatable, getmetatable = setmetatable, getmetatable
local string_sub, string_gsub, string_format, table_concat, table_sort = string.sub, string.gsub, string.format, table.concat, table.sort
local real_collectgarbage = collectgarbage
-- The sandbox's globals (libraries and helpers), moved out of _G at the end of this file: _G
-- itself holds only the policy's own globals, and assigning to a helper's name raises.
local G, BUILTINS = _G, {}

local LOCKED = "locked by the luascale sandbox"
local protected = setmetatable({}, { __mode = "k" })

local function ro_newindex(_, k)
  error("attempt to modify a read-only table (field '" .. tostring(k) .. "')", 2)
end

-- A read-only view: reads go to t, writes raise, the metatable cannot be read or replaced.
local function readonly(t, deep)
  if deep then
    for k, v in next, t do
      if type(v) == "table" then rawset(t, k, readonly(v, true)) end
    end
  end
  local p = setmetatable({}, {
    __index = t,
    __newindex = ro_newindex,
    __len = function() return #t end,
    __pairs = function() return next, t, nil end,
    __metatable = LOCKED,
  })
  protected[p] = true
  return p
end

-- Base library: no code loading, no file access, no GC control beyond "count".
local real_load = load -- for the signal filler below, compiled from the catalogue's names
load, loadstring, dofile, loadfile, require, warn = nil, nil, nil, nil, nil, nil
collectgarbage = function(opt)
  if opt == "count" then return real_collectgarbage("count") end
  error("collectgarbage: only \"count\" is allowed in a policy", 2)
end
_ENV.rawset = function(t, k, v)
  if protected[t] then error("rawset: table is read-only", 2) end
  if rawequal(t, G) and BUILTINS[k] ~= nil then error("rawset: cannot assign to helper '" .. tostring(k) .. "'", 2) end
  return rawset(t, k, v)
end

-- Every caught error and every coroutine switch is a longjmp, which emscripten implements as a
-- JS exception (~5 µs, against ~25 ns per VM instruction): charge them to the budget so a
-- "while true do pcall(error) end" stops as fast as a plain loop.
local real_pcall = pcall
local pack, unpack = table.pack, table.unpack
pcall = function(...) host_charge() return real_pcall(...) end
-- xpcall runs the handler after unwinding, not as a Lua message handler: an error raised by the
-- count hook calls the message handler from inside the hook, where hooks are off, so a looping
-- handler could never be stopped. (Without the debug library nothing else can tell the difference.)
xpcall = function(f, handler, ...)
  host_charge()
  local r = pack(real_pcall(f, ...))
  if r[1] then return unpack(r, 1, r.n) end
  local _, v = real_pcall(handler, r[2])
  return false, v
end
-- Lua runs __gc finalizers with hooks off (lgc.c GCTM), so a looping finalizer could not be
-- stopped: objects with __gc are refused. A __gc added after setmetatable is ignored by Lua.
local real_setmetatable = setmetatable
_ENV.setmetatable = function(t, mt)
  if type(mt) == "table" and rawget(mt, "__gc") ~= nil then
    error("setmetatable: __gc metamethods are not allowed in a policy", 2)
  end
  return real_setmetatable(t, mt)
end
local co_resume, co_wrap = coroutine.resume, coroutine.wrap
coroutine.resume = function(...) host_charge() return co_resume(...) end
coroutine.wrap = function(f)
  local resume = co_wrap(f)
  return function(...) host_charge() return resume(...) end
end

-- math.random starts from the same seed in every state, so runs repeat (Lua seeds it from the
-- clock); a policy may still call math.randomseed itself.
math.randomseed(0x5eed)

-- Libraries become read-only views, so a policy cannot poison them for its next call.
string.dump = nil
getmetatable("").__metatable = LOCKED
string = readonly(string)
table = readonly(table)
math = readonly(math)
utf8 = readonly(utf8)
coroutine = readonly(coroutine)
_G._G = _G

-- ctx: a read-only view of B, which only the runner writes.
local B = {}
local EMPTY = readonly({})
local ctx = readonly(B)
local params, slo, ops, state = EMPTY, EMPTY, EMPTY, {}
-- The signals: host_fetch(6) names them in catalogue order, the order in which the host passes
-- their values to run; "latency.p95" is the field p95 of ctx.latency, "llm.ttft.p50" the field
-- p50 of ctx.llm.ttft. fill(v1, ..., vN) is compiled once from the names (identifiers, checked
-- here): straight-line stores, as cheap as a hand-written list (a loop over a name table costs
-- ~0.4 µs more per call). NaN is how the host passes an unknown value (cpu with no usage from the
-- provider, an llm.* signal of a service without it): nil.
local SIG = host_fetch(6)
local nested, args, body, flat, known, raws, slot = {}, {}, {}, {}, {}, {}, {}
for i = 1, #SIG.names do
  local name = SIG.names[i]
  local parts = {}
  for part in string.gmatch(name, "[^.]+") do
    if not string.match(part, "^[%a_][%w_]*$") then error("signal catalogue: bad name " .. tostring(name)) end
    parts[#parts + 1] = part
  end
  if #parts == 0 or #parts > 3 then error("signal catalogue: bad name " .. tostring(name)) end
  local nil_if_nan = " = v" .. i .. " == v" .. i .. " and v" .. i .. " or nil"
  if #parts == 1 then
    body[i] = "B." .. name .. nil_if_nan
    flat[name] = true
  else
    local parent, path = B, nil
    for d = 1, #parts - 1 do
      path = path and (path .. "." .. parts[d]) or parts[d]
      if nested[path] == nil then
        nested[path] = {}
        known[path] = {}
        rawset(parent, parts[d], readonly(nested[path]))
      end
      parent = nested[path]
    end
    if slot[path] == nil then
      raws[#raws + 1] = nested[path]
      slot[path] = #raws
    end
    body[i] = "R[" .. slot[path] .. "]." .. parts[#parts] .. nil_if_nan
    known[path][parts[#parts]] = true
  end
  args[i] = "v" .. i
end
local fill = real_load("local B, R = ...\nreturn function(" .. table_concat(args, ", ") .. ")\n"
  .. table_concat(body, "\n") .. "\nend", "=signals", "t", {})(B, raws)
local latency = nested.latency

-- ctx and its signal tables are strict once the first decision has filled them: reading a field
-- that does not exist raises, naming the fields that do ("ctx.latency has no field 'p999' (p50,
-- p95, p99)"), instead of answering nil for a typo. Hits never reach the metamethod.
local function strict(t, label, known)
  setmetatable(t, { __index = function(_, k)
    if known and known[k] then return nil end -- a catalogue signal with no value (unknown): nil
    local names = {}
    for name in next, t do names[#names + 1] = tostring(name) end
    table_sort(names)
    error(label .. " has no field '" .. tostring(k) .. "' (" .. table_concat(names, ", ") .. ")", 2)
  end })
end
local strict_done = false
local function make_strict()
  strict_done = true
  strict(B, "ctx", flat)
  for path, t in next, nested do strict(t, "ctx." .. path, known[path]) end
end
B.params, B.slo, B.operations, B.state = params, slo, ops, state
B.history, B.forecast, B.service = host_history, host_forecast, ""

-- os reads the decision clock, not the host's, so live, eval and simulate agree on the same
-- inputs: os.time() and os.date(fmt) are ctx.now; os.clock() is this call's consumed instruction
-- budget at CLOCK_S_PER_INSTRUCTION (host_charge(0) charges nothing and returns it). Before the
-- first decision (a module's top level) there is no decision clock: those calls raise.
-- Dates are UTC whatever the host's time zone: os.date formats as if its format began with "!",
-- and os.time(t) reads t as UTC (timegm), so a policy answers the same on every machine.
-- Fractional seconds (ctx.now / 1000) are floored. Errors name the policy's line and os.*, never
-- this wrapper.
local real_time, real_date, math_floor, math_type = os.time, os.date, math.floor, math.type
local CLOCK_S_PER_INSTRUCTION = 25e-9
local function now_s(fname)
  local now = rawget(B, "now")
  if now == nil then error(fname .. ": no decision clock while the policy loads; call it from decide(ctx)", 3) end
  return math_floor(now / 1000)
end
local function seconds_arg(fname, t)
  if type(t) == "string" then t = tonumber(t) end
  if type(t) ~= "number" then
    error("bad argument #2 to '" .. fname .. "' (number expected, got " .. type(t) .. ")", 3)
  end
  if t ~= t or t == math.huge or t == -math.huge then
    error("bad argument #2 to '" .. fname .. "' (time out of range)", 3)
  end
  return math_floor(t)
end
-- Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant, "days_from_civil").
local function days_from_civil(y, m, d)
  y = m <= 2 and y - 1 or y
  local era = (y >= 0 and y or y - 399) // 400
  local yoe = y - era * 400
  local doy = (153 * (m > 2 and m - 3 or m + 9) + 2) // 5 + d - 1
  local doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
  return era * 146097 + doe - 719468
end
local function date_field(t, key, default)
  local v = rawget(t, key)
  if v == nil then
    if default == nil then error("os.time: field '" .. key .. "' missing in date table", 3) end
    return default
  end
  if type(v) == "string" then v = tonumber(v) end
  if type(v) ~= "number" or math_floor(v) ~= v then
    error("os.time: field '" .. key .. "' is not an integer", 3)
  end
  return math_floor(v)
end
local function clean_error(msg, fname)
  msg = string_gsub(tostring(msg), "^[%w_]+:%d+: ", "")
  msg = string_gsub(msg, "to '[^']*'", "to '" .. fname .. "'")
  return msg
end
os = readonly({
  time = function(t)
    if t == nil then
      local s = now_s("os.time") -- not a tail call: error level 3 is the policy's line
      return s
    end
    if type(t) ~= "table" then error("bad argument #1 to 'os.time' (table expected, got " .. type(t) .. ")", 2) end
    -- Month overflow carries into the year and day overflow into the month, as mktime does.
    local year, month = date_field(t, "year"), date_field(t, "month")
    local day = date_field(t, "day")
    local hour, min, sec = date_field(t, "hour", 12), date_field(t, "min", 0), date_field(t, "sec", 0)
    year, month = year + (month - 1) // 12, (month - 1) % 12 + 1
    local s = ((days_from_civil(year, month, 1) + day - 1) * 24 + hour) * 3600 + min * 60 + sec
    return s
  end,
  clock = function() return host_charge(0) * CLOCK_S_PER_INSTRUCTION end,
  -- os.date's strftime is JS in this build and one call can take seconds on a huge format.
  date = function(fmt, t)
    if fmt == nil then fmt = "%c" end
    if type(fmt) == "number" then fmt = tostring(fmt) end
    if type(fmt) ~= "string" then error("bad argument #1 to 'os.date' (string expected, got " .. type(fmt) .. ")", 2) end
    if #fmt > 256 then error("os.date: format longer than 256 characters", 2) end
    if t == nil then t = now_s("os.date") else t = seconds_arg("os.date", t) end
    if string_sub(fmt, 1, 1) ~= "!" then fmt = "!" .. fmt end
    local ok, res = real_pcall(real_date, fmt, t)
    if not ok then error(clean_error(res, "os.date"), 2) end
    return res
  end,
})

local setv, delta, nlogs, nalerts = nil, 0, 0, 0
local logs, alerts = {}, {}

local function checknum(fname, n)
  if type(n) ~= "number" then error(fname .. ": expected a number, got " .. type(n), 3) end
  return n
end

for getter, name in next, SIG.getters do
  _ENV[getter] = function() return B[name] end
end
function get_latency(p)
  if p == nil or p == 95 then return latency.p95 end
  if p == 50 then return latency.p50 end
  if p == 99 then return latency.p99 end
  error("get_latency: p must be 50, 95 or 99, got " .. tostring(p), 2)
end
function get_metric(name, window_s) return host_metric(name, window_s) end
function scale_up_instances(n)
  if n == nil then n = 1 end
  delta = delta + checknum("scale_up_instances", n)
end
function scale_down_instances(n)
  if n == nil then n = 1 end
  delta = delta - checknum("scale_down_instances", n)
end
function set_replicas(n)
  setv, delta = checknum("set_replicas", n), 0
end
function log(msg)
  nlogs = nlogs + 1
  logs.n = nlogs
  if nlogs <= MAX_LOGS then
    msg = tostring(msg)
    logs[nlogs] = #msg > MAX_LOG_LEN and string_sub(msg, 1, MAX_LOG_LEN) or msg
  end
end
function print(...)
  local parts = {}
  for i = 1, select("#", ...) do parts[i] = tostring((select(i, ...))) end
  log(table_concat(parts, "\t"))
end
function alert(severity, msg)
  if severity ~= "info" and severity ~= "warning" and severity ~= "critical" then
    error("alert: severity must be \"info\", \"warning\" or \"critical\", got " .. tostring(severity), 2)
  end
  nalerts = nalerts + 1
  alerts.n = nalerts
  if nalerts <= MAX_LOGS then
    alerts[2 * nalerts - 1] = severity
    alerts[2 * nalerts] = string_sub(tostring(msg), 1, MAX_LOG_LEN)
  end
end

-- Result kinds (first return value): 1 a number in value; 2 nothing asked (script style: unchanged);
-- 0 nil (module style); -1 a value of the wrong type (value = its type name);
-- -2 a table whose replicas field is not a number (value = that field's type name).
local function run(policy, script, flags, min, max, now, ...)
  fill(...)
  B.min, B.max, B.now = min, max, now
  if flags ~= 0 then
    if flags & 1 ~= 0 then params = readonly(host_fetch(1), true); B.params = params end
    if flags & 2 ~= 0 then slo = readonly(host_fetch(2), true); B.slo = slo end
    if flags & 4 ~= 0 then state = host_fetch(3); B.state = state end
    if flags & 8 ~= 0 then B.service = host_fetch(5) end
    if flags & 16 ~= 0 then B.operations = readonly(host_fetch(4), true) else B.operations = EMPTY end
  elseif B.operations ~= EMPTY then
    B.operations = EMPTY
  end
  if not strict_done then make_strict() end
  -- A script starts every tick with no globals of its own: what it keeps goes in ctx.state.
  if script and next(G) ~= nil then
    for k in next, G do rawset(G, k, nil) end
  end
  setv, delta, nlogs, nalerts = nil, 0, 0, 0
  logs.n, alerts.n = 0, 0
  local res = policy(ctx)
  local kind, value, reason = 1, res, nil
  if res == nil then
    -- Relative steps count from the ready instances (AWS warm-up rule), so a step is not taken
    -- again while the last one is still starting; "one fewer" than none is none.
    if setv ~= nil then value = setv + delta
    elseif delta ~= 0 then value = math.max(0, B.ready + delta)
    elseif script then kind, value = 2, B.replicas
    else kind = 0 end
  elseif type(res) == "table" then
    value = rawget(res, "replicas")
    reason = rawget(res, "reason")
    if type(reason) ~= "string" then reason = nil end
    if type(value) ~= "number" then kind, value = -2, type(value) end
  elseif type(res) ~= "number" then
    kind, value = -1, type(res)
  end
  -- nlogs, nalerts and whether state is empty save the host a few wasm calls per evaluate.
  return kind, value, reason, nlogs, nalerts, next(state) == nil and rawequal(B.state, state)
end

-- Every policy's top level runs once at load; a decide function in the table it returns (1) or
-- a global decide function (2) makes it a module, anything else a script (0).
local function load_module(chunk)
  local res = chunk()
  if type(res) == "table" then
    local d = rawget(res, "decide")
    if type(d) == "function" then return d, 1 end
  end
  local d = rawget(G, "decide")
  if type(d) == "function" then return d, 2 end
  return nil, 0
end

local function full_gc() real_collectgarbage("collect") end

-- The sandbox's globals move to BUILTINS; _G reads through to them, and assigning one of their
-- names (a forgotten local: log = "scaled") raises at the policy's line instead of breaking
-- every later tick.
for k, v in next, G do BUILTINS[k] = v end
for k in next, BUILTINS do rawset(G, k, nil) end
BUILTINS._G = G
setmetatable(G, {
  __index = BUILTINS,
  __newindex = function(t, k, v)
    if BUILTINS[k] ~= nil then error("cannot assign to helper '" .. tostring(k) .. "' (a missing 'local'?)", 2) end
    rawset(t, k, v)
  end,
  __metatable = LOCKED,
})

-- Stack slots 1..8 as the host expects them (2 and 3 are filled by the host).
return run, nil, nil, logs, alerts, B, full_gc, load_module
`;
