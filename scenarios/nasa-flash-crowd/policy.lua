-- Scale on offered load with 30 % headroom, and when requests queue up, add what it takes to
-- drain the queue within half a minute (a queue means ready capacity is already short; waiting
-- for the rps average to catch up is too late). Starting instances are already counted in
-- ctx.replicas, so a queue that persists while they start does not compound.
function decide(ctx)
  local capacity = ctx.params.capacity or 100
  local steady = math.ceil(ctx.rps / (0.7 * capacity))
  local drain = math.ceil((ctx.rps + ctx.queue / 30) / capacity)
  local want = math.max(steady, drain)
  return { replicas = want, reason = "rps " .. math.floor(ctx.rps) .. ", queue " .. math.floor(ctx.queue) }
end
