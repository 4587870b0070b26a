-- Module style: define decide(ctx) and return a number or { replicas = n, reason = "..." }.
-- Scales on p95 latency against a target, with CPU as a floor. See docs/policies.md.
function decide(ctx)
  local target = ctx.params.target_p95_ms or 200
  local p95 = ctx.latency.p95
  if ctx.ready == 0 then
    return { replicas = math.max(ctx.min, 1), reason = "no ready instance" }
  end
  if p95 > target * 1.2 then
    -- proportional: latency over target by x% → about x% more instances
    local want = math.ceil(ctx.ready * p95 / target)
    return { replicas = want, reason = string.format("p95 %.0f ms > %d ms", p95, target) }
  elseif p95 < target * 0.5 and ctx.cpu < 40 then
    return { replicas = ctx.replicas - 1, reason = string.format("p95 %.0f ms, cpu %.0f%%: room to spare", p95, ctx.cpu) }
  end
  return ctx.replicas
end
