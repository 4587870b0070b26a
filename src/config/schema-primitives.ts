/**
 * The building blocks of the config schema (`schema.ts`): durations with a range, patterned
 * strings with the rule a user is told, listener addresses and strict objects.
 */
import { Type, type TSchema } from '@sinclair/typebox';
import { DURATION_PATTERN } from '../core/duration.js';

/** The rule a duration breaks when it does not parse (the pattern itself is for editors). */
export const DURATION_RULE = 'must be a duration such as 250ms, 15s, 5m, 1h or 1m30s, or a number of seconds';
/** The longest duration any setting takes: below Node's timer limit of 2^31-1 ms (24.8 days). */
const MAX = '24d';

/**
 * A duration: `250ms`, `15s`, `5m`, `1h`, `1m30s`, or a number of seconds, within `[min, max]`
 * (`x-duration-range`, checked by the loader's ajv keyword of that name and shown in the docs).
 * Every duration has a range: a zero that cannot work and a value beyond Node's timer limit, which
 * Node turns into a 1-ms busy loop, are refused where they are written.
 */
export const Duration = (description: string, dflt: string | undefined, min: string, max: string = MAX) =>
  Type.Union(
    [
      Type.String({ pattern: DURATION_PATTERN, patternErrorMessage: DURATION_RULE }),
      Type.Number({ minimum: 0 }),
    ],
    {
      description,
      errorMessage: DURATION_RULE,
      'x-duration-range': { min, max },
      ...(dflt === undefined ? {} : { default: dflt }),
    },
  );

/** A string that must match `pattern`; `rule` is what the user is told when it does not. */
export const Pattern = (pattern: string, rule: string, options: object = {}) =>
  Type.String({ pattern, patternErrorMessage: rule, ...options });

/** A `host:port` listener address with its default. */
export const Listen = (description: string, dflt: string) =>
  Pattern(
    '^(\\[[0-9a-fA-F:.]+\\]|[^:\\s]+):\\d{1,5}$',
    'must be host:port, such as 127.0.0.1:8080, 0.0.0.0:8080 or [::1]:8080',
    { description, default: dflt },
  );

/** Keys starting with `x-` are ignored anywhere, as in docker-compose: a place for YAML anchors. */
export const EXTENSION_KEY = '^x-';

/** An object that refuses unknown keys, except `x-` extension keys. */
export const strict = <T extends Record<string, TSchema>>(
  props: T,
  description: string,
  extra: object = {},
) =>
  Type.Object(props, {
    additionalProperties: false,
    patternProperties: { [EXTENSION_KEY]: {} },
    description,
    ...extra,
  });

/** The largest count any setting takes where the schema states no tighter bound. */
export const MAX_COUNT = 1_000_000_000;
