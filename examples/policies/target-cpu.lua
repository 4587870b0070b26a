-- Target tracking on CPU, module style: keep average CPU near params.target (default 60 %).
-- The HPA's formula: desired = ceil(ready * cpu / target), skipped inside a ±10 % band.
local DEFAULT_TARGET = 60

function decide(ctx)
  local target = ctx.params.target or DEFAULT_TARGET
  local ready = math.max(ctx.ready, 1)
  local ratio = ctx.cpu / target
  if math.abs(ratio - 1) <= 0.1 then
    return { replicas = ctx.replicas, reason = "within tolerance" }
  end
  local desired = math.ceil(ready * ratio)
  return { replicas = desired, reason = string.format("cpu %.0f%% vs target %g%%", ctx.cpu, target) }
end
