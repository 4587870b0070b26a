/** llm-sim's public surface: the server, its options, and the pieces the gateway and simulator reuse. */
export {
  startLlmSim,
  type LlmSim,
  type LlmSimStats,
  type LlmSimRequestRecord,
  type SimOutcome,
} from './llm-sim-server.js';
export { DEFAULT_LLM_SIM_OPTIONS, type LlmSimOptions, type SimApiFlavour } from './llm-sim-options.js';
export { countTokens, encodeText, chatPromptText, type PromptMessage } from './tokenizer.js';
export { loadFactor, prefillMs, interTokenMs, serviceMs, type TimingParams } from './timing-model.js';
export { KvCache, blockHashes, type KvLease, type KvSnapshot } from './kv-cache.js';
export { Scheduler, realClock, type SimClock } from './scheduler.js';
export { parseFault, FAULT_HEADER, FAULT_SYNTAX, type Fault } from './faults.js';
export type { MetricNames } from './metrics.js';
