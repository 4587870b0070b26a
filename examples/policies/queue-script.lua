-- Script style, like the seed sample: the whole file runs each tick with the global helpers.
-- Add instances while requests queue at the gateway (more than one waiting per ready instance);
-- when nothing waits and CPU is low, ask for the fewest instances at 60 % CPU. That is a level,
-- asked on every idle tick: the decision core scales in once its scale-down window (300 s) has
-- seen nothing higher, so a one-off scale_down_instances() followed by quiet ticks never would.
local ctx = ...
local queued = get_queue_length()
local ready = math.max(ctx.ready, 1)
local cpu = get_cpu_usage()
if queued > 10 * ready then
  scale_up_instances(2)
  log(string.format("queue %.1f: adding 2 instances", queued))
elseif queued > ready then
  scale_up_instances()
  log(string.format("queue %.1f: adding 1 instance", queued))
elseif queued < 1 and cpu < 30 then
  set_replicas(math.max(1, math.ceil(ready * cpu / 60)))
  log(string.format("idle (cpu %.0f %%): %d instances would do", cpu, math.max(1, math.ceil(ready * cpu / 60))))
end
