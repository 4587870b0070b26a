-- Script style, like the seed sample: the whole file runs each tick with the global helpers.
-- Add instances while requests queue at the gateway; remove one when idle and fast.
local queued = get_queue_length()
local p99 = get_latency(99)
if queued > 10 * get_replicas() then
  scale_up_instances(2)
  log("queue " .. queued .. ": adding 2 instances")
elseif queued > 0 then
  scale_up_instances()
  log("queue " .. queued .. ": adding 1 instance")
elseif p99 < 50 and get_cpu_usage() < 20 then
  scale_down_instances()
  log("idle (p99 " .. p99 .. " ms): removing 1 instance")
end
