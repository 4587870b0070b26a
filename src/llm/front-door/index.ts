/** The AI gateway's front door: the `llm` stage, its models and backends, and its error bodies. */
export { createLlmStage, type LlmService, type LlmStageOptions } from './llm-stage.js';
export { createLlmModels, type BackendOptions, type LlmModel, type LlmModelOptions } from './backends.js';
export { llmErrorBody } from './error-body.js';
export { endpointOf, type ApiFormat } from './endpoints.js';
export type { LlmCallRecord } from './front-door-context.js';
export { formatsTranslation, type Translation } from './translation.js';
