-- Scale on the p95 latency SLO, module style.
-- Out: while p95 is above the SLO, add capacity: one more than the *ready* instances, or what CPU
-- says at params.max_cpu (default 70 %) if that is more. While instances are still starting, hold:
-- their capacity is coming, and ctx.replicas already counts them (asking replicas + 1 every tick
-- would launch one more per tick for as long as startup lasts), and while the gateway's queue
-- shrinks: the capacity is enough, the latency is the backlog draining.
-- In: while p95 is under half the SLO, answer the fewest instances that keep CPU under max_cpu,
-- on *every* tick. The decision core scales in only after the answer stayed lower for its whole
-- scale-down window (300 s by default; it keeps the highest answer of the window), so the window
-- is the "quiet for 5 minutes" timer. Answering "−1" once and then "hold" never scales in.
local M = {}

function M.decide(ctx)
  local slo = ctx.slo.latency_p95_ms or ctx.params.latency_p95_ms or 250
  local max_cpu = ctx.params.max_cpu or 70
  local p95 = ctx.latency.p95
  local ready = math.max(ctx.ready, 1)
  local by_cpu = math.ceil(ready * ctx.cpu / max_cpu)
  if p95 > slo then
    if p95 > 2 * slo then alert("warning", string.format("p95 %.0f ms is twice the SLO (%.0f ms)", p95, slo)) end
    if ctx.starting > 0 then return { replicas = ctx.replicas, reason = "p95 above SLO, instances starting" } end
    -- Give new capacity 10 s to show; then a shrinking queue means it is enough.
    local starting, queue = ctx.history("starting", 10), ctx.history("queue", 10)
    local settling = false
    for _, n in ipairs(starting) do settling = settling or n > 0 end
    if settling or (#queue >= 2 and queue[#queue] < queue[1]) then
      return { replicas = ctx.replicas, reason = "p95 above SLO, backlog draining" }
    end
    return { replicas = math.max(ctx.ready + 1, by_cpu), reason = "p95 above SLO" }
  end
  if p95 < slo / 2 and by_cpu < ctx.ready then
    return { replicas = math.max(by_cpu, 1), reason = "p95 under half the SLO" }
  end
  return { replicas = ctx.replicas, reason = "holding" }
end

return M
