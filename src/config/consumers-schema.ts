/** The `consumers:` section and the `auth` setting of services and routes (API keys, issue 19). */
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { EXTENSION_KEY, MAX_COUNT, strict } from './schema-primitives.js';

/** `auth` of a service or a route. */
export const Auth = Type.Union([Type.Literal('key'), Type.Literal('none')], {
  description:
    'key: requests need an API key of a consumer (Authorization: Bearer <key> or x-api-key: <key>; 401 without a valid one; the header is not forwarded). On a route, none opens it on a service that requires keys',
});

const tokens = (window: string) =>
  Type.Optional(
    Type.Integer({
      minimum: 1,
      maximum: Number.MAX_SAFE_INTEGER,
      description: `Tokens (prompt + output) of AI services this consumer may use per ${window}; reserved at admission (prompt + max_tokens), settled to the real usage`,
    }),
  );
const usd = (window: string) =>
  Type.Optional(
    Type.Number({
      exclusiveMinimum: 0,
      maximum: 1e12,
      description: `USD this consumer may spend per ${window}, at the models' \`price\``,
    }),
  );

/** Token and cost limits of AI services (issue 19): a consumer's, or a consumer's on one model. */
const TOKEN_LIMITS = {
  tokens_per_minute: tokens('minute (sliding over the last 60 s)'),
  tokens_per_day: tokens('UTC day'),
  tokens_per_month: tokens('UTC calendar month'),
  cost_per_day_usd: usd('UTC day'),
  cost_per_month_usd: usd('UTC calendar month'),
};

const Consumer = strict(
  {
    metadata: Type.Optional(
      Type.Record(Type.String(), Type.String({ maxLength: 1000 }), {
        description: 'Free-form labels (team, plan, contact); the admin API shows them (GET /v1/consumers)',
      }),
    ),
    limits: Type.Optional(
      strict(
        {
          rps: Type.Optional(
            Type.Number({
              exclusiveMinimum: 0,
              maximum: MAX_COUNT,
              description: 'Requests per second this consumer may make, over every route that needs a key',
            }),
          ),
          burst: Type.Optional(
            Type.Integer({ minimum: 1, maximum: MAX_COUNT, description: 'Bucket size; defaults to rps' }),
          ),
          ...TOKEN_LIMITS,
          models: Type.Optional(
            Type.Record(
              Type.String({ minLength: 1, maxLength: 200 }),
              strict(TOKEN_LIMITS, 'Limits of this consumer on one model'),
              {
                description:
                  'Token and cost limits per model (the `model` a client sends), on top of the limits above',
              },
            ),
          ),
        },
        "The consumer's own limits; over them the gateway answers 429 with Retry-After and RateLimit-* headers naming the limit (docs/llm.md)",
      ),
    ),
  },
  'A consumer: who API keys are issued to (`luascale keys create --consumer NAME`)',
);

/** Consumer names: as service names. */
export const CONSUMER_NAME = '^(?!x-)[a-z0-9][a-z0-9_.-]{0,62}$';

/** `consumers:` by name. */
export const Consumers = Type.Record(Type.String({ pattern: CONSUMER_NAME }), Consumer, {
  additionalProperties: false,
  default: {},
  description:
    'Consumers of the APIs behind the gateway, by name; their API keys are managed with `luascale keys`',
  patternErrorMessage:
    'a consumer name must be lowercase letters, digits, ".", "-" or "_" (at most 63 characters, not starting with x-)',
});
(Consumers.patternProperties as Record<string, TSchema>)[EXTENSION_KEY] = Type.Unknown();

/** One consumer's configuration. */
export type ConsumerConfig = Static<typeof Consumer>;
