/** The built-in open-loop load generator. */
export { runLoad } from './load-generator.js';
export type {
  LoadOptions,
  LoadProgress,
  LoadSummary,
  LatencySummary,
  TimelineSecond,
} from './load-generator.js';
export {
  parsePattern,
  constantRate,
  traceRate,
  rateAt,
  expectedArrivals,
  PatternError,
} from './rate-pattern.js';
export type { RatePattern, RateTrace } from './rate-pattern.js';
export { formatSummary, formatTimeline, formatProgress } from './format-report.js';
export { runLlmLoad, promptText } from './llm-load.js';
export type {
  LlmLoadOptions,
  LlmLoadProgress,
  LlmLoadSummary,
  LlmTokenTotals,
  TokenRequests,
} from './llm-load.js';
export { formatLlmSummary, formatLlmProgress } from './format-llm-report.js';
