/**
 * What `luascale simulate`'s register needs from its flags module without loading the simulator:
 * simulate-flags.ts re-exports both.
 */

/** The instance bounds when neither the flags nor a config give them. */
export const DEFAULT_LIMITS = { min: 1, max: 100 };

/** commander's accumulator of a repeatable flag (`--set`). */
export function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}
