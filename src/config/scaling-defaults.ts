/**
 * The scaling section's defaults, read from the config schema: the one source of the defaults
 * that `up` (through the config), `eval`, `check` and `simulate` (without a config) all use, so
 * a policy runs under the same sandbox limits, bounds and behaviour everywhere (issue 18 item 13).
 */
import { applyDefaults } from './defaults.js';
import { Scaling, type ScalingConfig } from './schema.js';
import { normaliseScaling, type ScalingSettings } from './scaling-settings.js';

let cached: ScalingSettings | undefined;

/** A scaling section with every default applied (`min` 1, `max` 10, limits 1,000,000 / 16 MiB / 1 s, ...). */
export function scalingDefaults(): ScalingSettings {
  cached ??= normaliseScaling(
    'default',
    applyDefaults(Scaling as never, { policy: { builtin: 'hpa' } }) as ScalingConfig,
  );
  return cached;
}
