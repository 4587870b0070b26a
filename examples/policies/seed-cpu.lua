local cpu_usage = get_cpu_usage() -- Hypothetical function to get CPU usage
if cpu_usage > 80 then
scale_up_instances() -- Hypothetical function to add instances
log("Scaled up instances due to high CPU usage: " .. cpu_usage .. "%")
elseif cpu_usage < 20 then
scale_down_instances() -- Hypothetical function to reduce instances
log("Scaled down instances due to low CPU usage: " .. cpu_usage .. "%")
end
