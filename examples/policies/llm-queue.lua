-- Scale a model service on its queues (the policy of `luascale demo --llm`, docs/llm.md).
-- Requests wait at the gateway (ctx.queue: each instance is given as many as its engine runs at
-- once) and, where the engines' /metrics are read, in the engines' own queues (llm.waiting; nil
-- where no engine reports it). Ask for enough instances that each carries at most `target`
-- running + waiting requests (ctx.params.target, default 4: llm-sim's --max-seqs in the demo).
local M = {}

function M.decide(ctx)
  local target = ctx.params.target or 4
  local waiting = ctx.queue + (get_metric("llm.waiting") or 0)
  local busy = ctx.inflight + waiting
  local want = math.max(1, math.ceil(busy / target - 1e-9))
  return {
    replicas = want,
    reason = string.format("%.1f running + %.1f waiting, %d per instance: %d", ctx.inflight, waiting, target, want),
  }
end

return M
