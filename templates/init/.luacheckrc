-- luacheck settings for luascale policies. Generated from src/signals/catalog.ts by `npm run gen`.
-- A forgotten `local` (setting a global) and a misspelled helper are warnings.
std = "lua54"
-- The sandbox leaves these out (docs/policies.md, "The sandbox").
not_globals = { "io", "debug", "package", "require", "load", "loadstring", "dofile", "loadfile" }
globals = { "decide" }
read_globals = { "get_cpu_usage", "get_memory_usage", "get_request_rate", "get_queue_length", "get_error_rate", "get_replicas", "get_latency", "get_metric", "scale_up_instances", "scale_down_instances", "set_replicas", "log", "alert", "print" }
max_line_length = false
