/**
 * The simulator's defaults, on their own: `luascale simulate --help` prints them, and the CLI builds
 * its help without loading the simulator. simulate.ts and token-simulate.ts re-export them.
 */
import type { ModelParams } from './simulate.js';

/** Defaults of the model; docs/simulator.md explains each. */
export const DEFAULT_MODEL: Readonly<ModelParams> = Object.freeze({
  capacity: 100,
  serviceMs: 50,
  startupS: 30,
  queueTimeoutS: 30,
  sloP95Ms: 250,
  drainS: 1,
});

/** The TTFT objective of a token replay when none is given (`--ttft-slo-ms`). */
export const DEFAULT_TTFT_SLO_MS = 2000;
