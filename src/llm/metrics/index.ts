/** OpenTelemetry GenAI metrics of AI services on the gateway's /metrics. */
export { GenAiMetrics, type GenAiSample } from './genai-metrics.js';
