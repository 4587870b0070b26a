-- Scale ahead of demand, module style: size for the larger of the current request rate and the
-- rate forecast one startup time ahead (Holt's trend over the last 10 minutes of history).
-- params.rps_per_instance: what one instance serves comfortably (default 50).
function decide(ctx)
  local per_instance = ctx.params.rps_per_instance or 50
  local lead = ctx.params.lead_s or 60
  local ahead = ctx.forecast("rps", lead) or ctx.rps
  local recent = ctx.history("rps", 60)
  local peak = ctx.rps
  for _, v in ipairs(recent) do peak = math.max(peak, v) end
  local need = math.max(peak, ahead) / per_instance
  return {
    replicas = math.ceil(need),
    reason = string.format("rps %.0f, peak %.0f, forecast %.0f in %gs", ctx.rps, peak, ahead, lead),
  }
end
