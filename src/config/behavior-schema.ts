/** The schema of `scaling.behavior`: stabilization, change limits, tolerance, cooldown, panic. */
import { Type } from '@sinclair/typebox';
import { Duration, strict } from './schema-primitives.js';

const Step = (dflt: { stabilization: string; percent?: number; pods?: number }, description: string) =>
  strict(
    {
      // The HPA bounds stabilizationWindowSeconds to [0, 3600] and periodSeconds to [1, 1800].
      stabilization: Duration(
        'Window in which the most conservative recommendation wins',
        dflt.stabilization,
        '0s',
        '1h',
      ),
      max_step: strict(
        {
          percent: Type.Optional(
            Type.Number({ exclusiveMinimum: 0, maximum: 10_000, description: 'Max change in % per period' }),
          ),
          pods: Type.Optional(
            Type.Integer({ minimum: 1, maximum: 10_000, description: 'Max change in instances per period' }),
          ),
          period: Duration('Period of the limit', '15s', '1s', '30m'),
          select: Type.Union([Type.Literal('max'), Type.Literal('min'), Type.Literal('disabled')], {
            default: 'max',
            description: 'Which limit wins when both are set (HPA selectPolicy)',
          }),
        },
        'Per-period change limit (HPA behavior policies)',
        {
          default: {
            ...(dflt.percent ? { percent: dflt.percent } : {}),
            ...(dflt.pods ? { pods: dflt.pods } : {}),
            period: '15s',
            select: 'max',
          },
        },
      ),
    },
    description,
    { default: {} },
  );

/** The `scaling.behavior` section (its defaults are the HPA's). */
export const Behavior = strict(
  {
    scale_up: Step({ stabilization: '0s', percent: 100, pods: 4 }, 'Scale-up behaviour (HPA defaults)'),
    scale_down: Step({ stabilization: '300s', percent: 100 }, 'Scale-down behaviour (HPA defaults)'),
    tolerance: Type.Number({
      minimum: 0,
      maximum: 1,
      default: 0.1,
      description: 'No change within ±tolerance',
    }),
    cooldown: Duration('No change for this long after a change (0 = off)', '0s', '0s', '24h'),
    panic: strict(
      {
        enabled: Type.Boolean({ default: true }),
        threshold: Type.Number({
          minimum: 1.1,
          maximum: 1000,
          default: 2,
          description: 'Enter when recommendation ≥ threshold × ready',
        }),
        hold: Duration('Stay in panic (no scale-down) this long after the last trigger', '60s', '0s', '24h'),
      },
      'Knative-style panic mode',
      { default: {} },
    ),
  },
  'Anti-flapping: stabilization windows, change limits, tolerance, cooldown, panic',
  { default: {} },
);
