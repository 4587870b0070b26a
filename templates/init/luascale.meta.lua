---@meta
-- luascale policy API for lua-language-server (LuaLS) and other EmmyLua-aware editors.
-- Generated from src/signals/catalog.ts by `npm run gen`; `luascale init` copies it. Do not edit.
-- docs/policies.md explains the API; docs/signals.md the signals.

---A signal name of the catalogue (docs/signals.md). A custom metric (config `metrics`) is any other
---string: `get_metric` takes it; for `ctx.history` / `ctx.forecast` cast it: `---@cast name luascale.Metric`.
---@alias luascale.Metric
---| "cpu" # Average CPU over ready instances, percent of one core (0..100 per instance) (%)
---| "memory" # Average memory over ready instances, percent of the configured limit (%)
---| "rps" # Offered requests per second (admitted + shed) (req/s)
---| "inflight" # Requests in flight at the instances, time-weighted mean over the window (requests)
---| "queue" # Requests waiting in the gateway queue (requests)
---| "shed_rps" # Requests per second the gateway had to shed (429/503) (req/s)
---| "latency.p50" # Median request latency at the gateway (ms)
---| "latency.p95" # 95th percentile request latency at the gateway (ms)
---| "latency.p99" # 99th percentile request latency at the gateway (ms)
---| "error_rate" # 5xx responses / completed requests (0..1)
---| "replicas" # Instances the provider has, in any live state (starting + ready) (instances)
---| "ready" # Instances that pass their health check and take traffic (instances)
---| "starting" # Instances launched but not yet ready: capacity that is coming (instances)
---| "llm.waiting" # Requests queued in the model servers (the engines' own queues), summed (requests)
---| "llm.running" # Requests in the model servers' running batches, summed (requests)
---| "llm.kv_util" # KV-cache use of the model servers, mean over instances (0..1)
---| "llm.ttft.p50" # Median time to first token (the engines' histograms, else measured from the stream) (ms)
---| "llm.ttft.p95" # 95th percentile time to first token (ms)
---| "llm.itl.p50" # Median inter-token latency (time between two streamed tokens) (ms)
---| "llm.itl.p95" # 95th percentile inter-token latency (ms)
---| "llm.tokens_in_rps" # Prompt tokens per second (tokens/s)
---| "llm.tokens_out_rps" # Generated tokens per second (tokens/s)
---| "llm.inflight_tokens" # Prompt + output tokens of the requests in flight at the model servers (tokens)
---| "llm.prefix_hit_rate" # Prompt tokens found in the engines' prefix caches / prompt tokens looked up (0..1)

---@class (exact) luascale.Latency
---@field p50 number Median request latency at the gateway (ms)
---@field p95 number 95th percentile request latency at the gateway (ms)
---@field p99 number 99th percentile request latency at the gateway (ms)

---@class (exact) luascale.Llm
---@field waiting number? Requests queued in the model servers (the engines' own queues), summed (requests)
---@field running number? Requests in the model servers' running batches, summed (requests)
---@field kv_util number? KV-cache use of the model servers, mean over instances (0..1)
---@field ttft luascale.LlmTtft
---@field itl luascale.LlmItl
---@field tokens_in_rps number? Prompt tokens per second (tokens/s)
---@field tokens_out_rps number? Generated tokens per second (tokens/s)
---@field inflight_tokens number? Prompt + output tokens of the requests in flight at the model servers (tokens)
---@field prefix_hit_rate number? Prompt tokens found in the engines' prefix caches / prompt tokens looked up (0..1)

---@class (exact) luascale.LlmTtft
---@field p50 number? Median time to first token (the engines' histograms, else measured from the stream) (ms)
---@field p95 number? 95th percentile time to first token (ms)

---@class (exact) luascale.LlmItl
---@field p50 number? Median inter-token latency (time between two streamed tokens) (ms)
---@field p95 number? 95th percentile inter-token latency (ms)

---Service-level objectives (config `scaling.slo` or the OpenAPI document); unset ones are nil.
---@class (exact) luascale.Slo
---@field latency_p95_ms number?
---@field latency_p99_ms number?
---@field error_rate number? 0..1
---@field availability number? 0..1

---One OpenAPI operation: its load signals and SLO.
---@class (exact) luascale.Operation
---@field cpu number Average CPU over ready instances, percent of one core (0..100 per instance) (%)
---@field memory number Average memory over ready instances, percent of the configured limit (%)
---@field rps number Offered requests per second (admitted + shed) (req/s)
---@field inflight number Requests in flight at the instances, time-weighted mean over the window (requests)
---@field queue number Requests waiting in the gateway queue (requests)
---@field shed_rps number Requests per second the gateway had to shed (429/503) (req/s)
---@field latency luascale.Latency
---@field error_rate number 5xx responses / completed requests (0..1)
---@field llm luascale.Llm
---@field slo luascale.Slo

---What a policy sees each tick. Read-only except `state`.
---@class (exact) luascale.Ctx
---@field cpu number Average CPU over ready instances, percent of one core (0..100 per instance) (%)
---@field memory number Average memory over ready instances, percent of the configured limit (%)
---@field rps number Offered requests per second (admitted + shed) (req/s)
---@field inflight number Requests in flight at the instances, time-weighted mean over the window (requests)
---@field queue number Requests waiting in the gateway queue (requests)
---@field shed_rps number Requests per second the gateway had to shed (429/503) (req/s)
---@field latency luascale.Latency
---@field error_rate number 5xx responses / completed requests (0..1)
---@field replicas integer Instances the provider has, in any live state (starting + ready) (instances)
---@field ready integer Instances that pass their health check and take traffic (instances)
---@field starting integer Instances launched but not yet ready: capacity that is coming (instances)
---@field llm luascale.Llm
---@field min integer The service's fewest instances
---@field max integer The service's most instances
---@field now integer The tick's time, epoch ms (the decision clock)
---@field slo luascale.Slo
---@field operations table<string, luascale.Operation> By OpenAPI operationId
---@field params table<string, any> The service's `scaling.params`
---@field service string
---@field state table<string|integer, any> Kept between ticks (JSON-like values)
---@field history fun(metric: luascale.Metric, seconds: number): number[] Values over the last `seconds`, oldest first, one per second
---@field forecast fun(metric: luascale.Metric, horizon_s: number, window_s?: number, season_s?: number): number The metric `horizon_s` seconds ahead

---What `decide` returns: a count, or a count with a reason.
---@class luascale.Result
---@field replicas number
---@field reason string?

---Module style: the policy. Define it as a global function, or return a table with a `decide` field.
---@param ctx luascale.Ctx
---@return number|luascale.Result
function decide(ctx) end

---Average CPU over ready instances, percent of one core (0..100 per instance) (%): ctx.cpu
---@return number
function get_cpu_usage() end

---Average memory over ready instances, percent of the configured limit (%): ctx.memory
---@return number
function get_memory_usage() end

---Offered requests per second (admitted + shed) (req/s): ctx.rps
---@return number
function get_request_rate() end

---Requests waiting in the gateway queue (requests): ctx.queue
---@return number
function get_queue_length() end

---5xx responses / completed requests (0..1): ctx.error_rate
---@return number
function get_error_rate() end

---Instances the provider has, in any live state (starting + ready) (instances): ctx.replicas
---@return integer
function get_replicas() end

---ctx.latency.p50 / p95 / p99 in ms; p is 50, 95 (default) or 99
---@param p? 50|95|99
---@return number
function get_latency(p) end

---A catalogue signal or a custom metric (config `metrics`); with window_s, its mean over that many seconds of history
---@param name luascale.Metric|string
---@param window_s? number
---@return number?
function get_metric(name, window_s) end

---Ask for n (default 1) more than the ready instances
---@param n? number
function scale_up_instances(n) end

---Ask for n (default 1) fewer than the ready instances
---@param n? number
function scale_down_instances(n) end

---Ask for n instances (resets earlier scale_up/down calls)
---@param n number
function set_replicas(n) end

---Adds a line to the Decision's logs (100 lines, 1000 characters each)
---@param msg any
function log(msg) end

---Raises an alert on the Decision's alerts
---@param severity "info"|"warning"|"critical"
---@param msg string
function alert(severity, msg) end
