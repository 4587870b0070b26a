-- llm-d's saturation autoscaler (WVA) in Lua, as builtin:llm-saturation (docs/builtin-policies.md).
-- A model server is saturated at KV-cache use >= 0.8 or a queue >= 5; scale up when the average
-- spare capacity falls under 0.1 KV or 3 queued requests, to the fewest replicas that restore
-- both; scale down to the fewest replicas that keep both spares under the same load, answered on
-- every tick, so the decision core's scale-down window (300 s) makes it "spare for 5 minutes".
-- Without engine metrics (llm.* nil: no `llm:` engine, or not a model server) CPU stands in for
-- the KV cache (saturated at 80 %), and the gateway's queue for the engines' queues.
local M = {}

function M.decide(ctx)
  local kv_max = ctx.params.kv_threshold or 0.8
  local q_max = ctx.params.queue_threshold or 5
  local kv_trigger = ctx.params.kv_spare_trigger or 0.1
  local q_trigger = ctx.params.queue_spare_trigger or 3
  local ready = ctx.ready
  local waiting = (get_metric("llm.waiting") or 0) + ctx.queue
  local kv = get_metric("llm.kv_util")
  if kv == nil and ctx.cpu ~= nil then kv = ctx.cpu / 100 end
  if ready <= 0 then
    if waiting > 0 then return { replicas = math.max(ctx.replicas, 1), reason = "no ready replica, requests waiting" } end
    return { replicas = ctx.replicas, reason = "no ready replica" }
  end
  kv = kv or 0
  local spare_kv, spare_q = kv_max - kv, q_max - waiting / ready
  local need = math.max(kv * ready / (kv_max - kv_trigger), waiting / (q_max - q_trigger))
  need = math.max(1, math.ceil(need - 1e-9))
  if spare_kv < kv_trigger or spare_q < q_trigger then
    local want = math.max(ready + 1, need)
    if want <= ctx.replicas then return { replicas = ctx.replicas, reason = "spare low, replicas starting" } end
    return { replicas = want, reason = string.format("spare KV %.2f / queue %.1f below trigger", spare_kv, spare_q) }
  end
  if need < ready and ctx.starting == 0 then
    return { replicas = need, reason = string.format("spare stays above trigger on %d", need) }
  end
  return { replicas = ctx.replicas, reason = string.format("spare KV %.2f / queue %.1f", spare_kv, spare_q) }
end

return M
