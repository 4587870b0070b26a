/**
 * The `llm:` section of a service (issue 19): the service becomes an AI service whose routes answer
 * OpenAI's Chat Completions, Completions, Embeddings and Models and Anthropic's Messages. Each model
 * has an ordered list of backends, tried in order before the first byte reaches the client
 * (docs/llm.md): the service's own instances, or a hosted provider whose key is read from the
 * environment (never written in the config, the logs, errors, the admin API or the ledger).
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { Duration, EXTENSION_KEY, MAX_COUNT, Pattern, strict } from './schema-primitives.js';
import { LlmEngine, LlmRouting } from './llm-routing-schema.js';
import { Price } from './price-schema.js';

const ENV_NAME = Pattern('^[A-Za-z_][A-Za-z0-9_]*$', 'must be an environment variable name', {
  description:
    'Environment variable holding the provider API key (read at start; the key itself is never logged)',
});
const UPSTREAM_MODEL = Type.Optional(
  Type.String({
    minLength: 1,
    description: "The provider's name for the model (default: the model's own name)",
  }),
);
const BASE_URL = (dflt?: string) =>
  Pattern('^https?://', 'must be a URL starting with http:// or https://', {
    description: `Base URL, the part before /v1/...${dflt ? ` (default ${dflt})` : ''}`,
    ...(dflt ? { default: dflt } : {}),
  });

const InstancesBackend = strict(
  {
    instances: strict(
      {
        format: Type.Union([Type.Literal('openai'), Type.Literal('anthropic')], {
          default: 'openai',
          description: 'The API the instances speak (vLLM, llama.cpp server and llm-sim: openai)',
        }),
        model: UPSTREAM_MODEL,
      },
      "The service's own instances (its provider: local processes, Kubernetes, exec, static), through its balancer",
      { default: {} },
    ),
  },
  'Backend: the service instances',
);

const OpenaiBackend = strict(
  {
    openai: strict(
      { base_url: BASE_URL('https://api.openai.com'), api_key_env: ENV_NAME, model: UPSTREAM_MODEL },
      'An OpenAI-compatible hosted API',
    ),
  },
  'Backend: an OpenAI-compatible provider',
);

const AnthropicBackend = strict(
  {
    anthropic: strict(
      { base_url: BASE_URL('https://api.anthropic.com'), api_key_env: ENV_NAME, model: UPSTREAM_MODEL },
      "Anthropic's Messages API",
    ),
  },
  'Backend: Anthropic',
);

const LlmModel = strict(
  {
    backends: Type.Array(Type.Union([InstancesBackend, OpenaiBackend, AnthropicBackend]), {
      minItems: 1,
      maxItems: 16,
      description:
        'Tried in order: before the first byte reaches the client, a connect error, timeout, 429, 5xx or malformed first chunk moves on to the next',
    }),
    ttft_timeout: Duration(
      'Time to the first token of a backend (then the next backend is tried)',
      '60s',
      '1ms',
      '1h',
    ),
    inter_token_timeout: Duration(
      'Longest silence between two chunks of a stream (then the stream ends with an error event)',
      '30s',
      '1ms',
      '1h',
    ),
    max_tokens_default: Type.Integer({
      minimum: 1,
      maximum: MAX_COUNT,
      default: 4096,
      description:
        'Output tokens assumed (and reserved against budgets) when a request sets no max_tokens; sent to Anthropic backends, which require it',
    }),
    price: Type.Optional(Price),
  },
  'One model the AI service serves',
);

const LlmModels = Type.Record(Type.String({ pattern: '^(?!x-)[^\\s]{1,200}$' }), LlmModel, {
  minProperties: 1,
  additionalProperties: false,
  description: 'Models by the name clients send in `model`',
  patternErrorMessage: 'a model name is 1 to 200 characters without spaces, not starting with x-',
});
(LlmModels.patternProperties as Record<string, TSchema>)[EXTENSION_KEY] = Type.Unknown();

/** A service's `llm:` section. */
export const Llm = strict(
  {
    models: LlmModels,
    max_body: Type.Integer({
      minimum: 1024,
      maximum: 1024 * 1024 * 1024,
      default: 4 * 1024 * 1024,
      description:
        'Largest request body in bytes (413 in the client’s format beyond); read whole before admission',
    }),
    engine: LlmEngine,
    routing: LlmRouting,
    warm_up: strict(
      {
        enabled: Type.Boolean({
          default: true,
          description:
            'An instance is ready only when its health check and a 1-token completion for the first model served by the instances pass',
        }),
        timeout: Duration('Longest wait for the warm-up completion', '60s', '100ms', '1h'),
      },
      'Warm-up before an instance counts as ready (process provider; docs/llm.md, scale from zero)',
      { default: {} },
    ),
  },
  'An AI service: the front door for OpenAI- and Anthropic-format clients (docs/llm.md)',
);

/** A service's `llm:` section after defaults. */
export type LlmConfig = Static<typeof Llm>;
/** One model of an AI service. */
export type LlmModelConfig = Static<typeof LlmModel>;
/** One backend of a model. */
export type LlmBackendConfig = LlmModelConfig['backends'][number];
