-- Scale on the p95 latency SLO, module style, with a remembered cool-down in ctx.state.
-- Up by one when p95 is above the SLO, down by one after 5 quiet minutes under half of it.
local M = {}

function M.decide(ctx)
  local slo = ctx.slo.latency_p95_ms or ctx.params.latency_p95_ms or 250
  local p95 = ctx.latency.p95
  local state = ctx.state
  if p95 > slo then
    state.calm_since = nil
    if p95 > 2 * slo then alert("warning", string.format("p95 %.0f ms is twice the SLO (%d ms)", p95, slo)) end
    return { replicas = ctx.replicas + 1, reason = "p95 above SLO" }
  end
  if p95 < slo / 2 then
    state.calm_since = state.calm_since or ctx.now
    if ctx.now - state.calm_since >= 300000 then
      state.calm_since = ctx.now
      return { replicas = ctx.replicas - 1, reason = "calm for 5 minutes" }
    end
  else
    state.calm_since = nil
  end
  return { replicas = ctx.replicas, reason = "holding" }
end

return M
