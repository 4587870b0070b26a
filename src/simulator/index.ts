/** The simulator's public surface: traces, the model, the loop, policies for it, the report. */
export { parseTrace, readTrace, type Trace } from './trace.js';
export { arrivals, type Arrivals, type ArrivalOptions } from './arrivals.js';
export {
  queueModel,
  RHO_MAX,
  type QueueModel,
  type QueueModelOptions,
  type SecondSample,
} from './queue-model.js';
export {
  erlangC,
  waitProfile,
  waitQuantile,
  ALLEN_CUNNEEN_FACTOR,
  type WaitProfile,
} from '../metrics/erlang-c.js';
export { fleet, type Fleet, type FleetOptions } from './fleet.js';
export { RunHistory } from './run-history.js';
export { LatencyMix, WindowLatency } from './latency-mix.js';
export { SignalWindow, type SecondSignals, type WindowSignals } from './signal-window.js';
export {
  simulate,
  validateModel,
  DEFAULT_MODEL,
  HISTORY_METRICS,
  type ModelParams,
  type SimulatedPolicy,
  type SimulateOptions,
  type SimulationResult,
  type SimulationSeries,
  type SimulationSummary,
} from './simulate.js';
export {
  simulationPolicy,
  naturalSettings,
  derivedParams,
  parsePolicySpec,
  type PolicySetupOptions,
} from './simulation-policy.js';
export { renderReport, uplotAssets, type ReportInput } from './html-report.js';
export { seededRandom, poisson, type Random } from './random.js';
export {
  simulateTokens,
  DEFAULT_ENGINE_PROFILE,
  DEFAULT_TTFT_SLO_MS,
  type TokenSimulateOptions,
  type TokenSimulationSummary,
} from './token-simulate.js';
export {
  parseTokenTrace,
  readTokenTrace,
  expandTokenTrace,
  isTokenTraceText,
  type TokenTrace,
} from './token-trace.js';
export type { EngineProfile } from './engine-replica.js';
