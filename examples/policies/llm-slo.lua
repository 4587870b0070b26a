-- Size a fleet of model servers for a TTFT p95 objective, as builtin:llm-slo does
-- (docs/builtin-policies.md), in Lua. A replica runs `seats` sequences at once; each request holds
-- a seat for s seconds; the fleet is an M/M/m queue of replicas × seats servers (Erlang C), and
-- the predicted TTFT p95 = the prefill p95 seen while nothing waits + the queue's wait p95.
-- Fitted online in ctx.state: seats (the most running per replica seen) and s (Little's law,
-- running / rps, while nothing waits). New replicas serve only after the measured startup time, so
-- it plans for the highest 10-second arrival rate of the last `hold` × startup seconds.
-- Without engine metrics it reads in-flight requests for running, the gateway's queue for
-- waiting and the request latency for TTFT, so it works for any service with an SLO.
local M = {}

local function erlang_c(m, a)
  if a <= 0 then return 0 end
  if a >= m then return 1 end
  local b = 1
  for k = 1, m do b = a * b / (k + a * b) end
  return b / (1 - (a / m) * (1 - b))
end

-- The queue's wait p95 (ms) at rate lam on m servers of s seconds each (inf past capacity).
local function wait_p95(m, s, lam)
  if lam * s >= m then return math.huge end
  local c = erlang_c(m, lam * s)
  if c <= 0.05 then return 0 end
  return 1000 * math.log(c / 0.05) / (m / s - lam)
end

function M.decide(ctx)
  local st = ctx.state
  local slo = ctx.params.ttft_p95_ms or ctx.slo.ttft_p95_ms or ctx.slo.latency_p95_ms or 2000
  local target = slo * (ctx.params.headroom or 1)
  local hold = ctx.params.hold or 8
  local startup = ctx.params.horizon_s or get_metric("startup_s") or 120
  local running = get_metric("llm.running") or ctx.inflight
  local waiting = (get_metric("llm.waiting") or 0) + ctx.queue
  local ttft = get_metric("llm.ttft.p95") or ctx.latency.p95
  local alpha = 0.05
  if ctx.ready > 0 then
    st.seats = math.max(st.seats or 1, math.ceil(running / ctx.ready - 1e-9))
    if waiting < 0.5 and ctx.rps > 0 and running > 0 then
      st.s = (st.s or running / ctx.rps) * (1 - alpha) + alpha * running / ctx.rps
      if ttft > 0 then st.pre95 = (st.pre95 or ttft) * (1 - alpha) + alpha * ttft end
    end
  end
  if st.s == nil or st.pre95 == nil then
    if waiting > 0 then return { replicas = ctx.replicas + 1, reason = "fitting, requests waiting" } end
    return { replicas = math.max(ctx.replicas, 1), reason = "fitting the model" }
  end
  -- The highest 10 s mean rate of the last hold × startup seconds, plus the backlog over startup.
  local rps = ctx.history("rps", math.floor(hold * startup) + 10)
  local rate, sum = ctx.rps, 0
  for i, x in ipairs(rps) do
    sum = sum + x
    if i > 10 then sum = sum - rps[i - 10] end
    if i >= 10 then rate = math.max(rate, sum / 10) end
  end
  rate = rate + waiting / math.max(startup, 1)
  if rate <= 0 then return { replicas = 1, reason = "no load" } end
  local goal = math.max(target, 1.1 * st.pre95)
  local n = math.max(1, math.ceil(rate * st.s / st.seats - 1e-9))
  while n < ctx.max and st.pre95 + wait_p95(n * st.seats, st.s, rate) > goal do n = n + 1 end
  return { replicas = n, reason = string.format("TTFT p95 <= %.0f ms at %.1f req/s needs %d", goal, rate, n) }
end

return M
