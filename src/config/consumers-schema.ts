/** The `consumers:` section and the `auth` setting of services and routes (API keys, issue 19). */
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { EXTENSION_KEY, MAX_COUNT, strict } from './schema-primitives.js';

/** `auth` of a service or a route. */
export const Auth = Type.Union([Type.Literal('key'), Type.Literal('none')], {
  description:
    'key: requests need an API key of a consumer (Authorization: Bearer <key> or x-api-key: <key>; 401 without a valid one; the header is not forwarded). On a route, none opens it on a service that requires keys',
});

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
          rps: Type.Number({
            exclusiveMinimum: 0,
            maximum: MAX_COUNT,
            description: 'Requests per second this consumer may make, over every route that needs a key',
          }),
          burst: Type.Optional(
            Type.Integer({ minimum: 1, maximum: MAX_COUNT, description: 'Bucket size; defaults to rps' }),
          ),
        },
        "The consumer's own limits; over them the gateway answers 429 with Retry-After and RateLimit-* headers",
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
