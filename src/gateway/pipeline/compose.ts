/**
 * Stages and their composition, after hono's `compose`: each stage handles an exchange on the way
 * in and passes it on with `ex.next()` (at once, or later: admission may queue, validation may read
 * the body), or answers and ends it. When the exchange ends, every stage it entered gets `leave`,
 * innermost first, as code after `await next()` runs in hono. Unlike hono, `next` is a method of the
 * exchange and the pipeline an array walked by index, so a request allocates no closure or promise
 * per stage.
 *
 * A new concern is a new stage in the list given to `compose`; it reads and writes the exchange and
 * never needs another stage to change (see docs/architecture.md, "Adding a stage").
 */
import type { Exchange } from './exchange.js';

/** One named step of the request pipeline. */
export interface Stage {
  /** Stable name, e.g. `admit` (docs, errors, `Pipeline.indexOf`). */
  readonly name: string;
  /** Handles the exchange; calls `ex.next()` to go on, or answers and calls `ex.finish()`. */
  enter(ex: Exchange): void;
  /** Once, when an exchange that entered this stage ends (innermost stage first). */
  leave?(ex: Exchange): void;
}

/** Stages in order, ready to run exchanges. */
export interface Pipeline {
  readonly stages: readonly Stage[];
  /** Position of a stage by name, or -1. */
  indexOf(name: string): number;
}

/** Composes stages into a pipeline; names must be unique. */
export function compose(stages: readonly Stage[]): Pipeline {
  const names = stages.map((s) => s.name);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup !== undefined) throw new RangeError(`pipeline: stage "${dup}" appears twice`);
  const list = Object.freeze([...stages]);
  return { stages: list, indexOf: (name) => names.indexOf(name) };
}
