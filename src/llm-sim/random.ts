/**
 * Seeded randomness for llm-sim: a string hash to derive seeds from `--seed` and a prompt, and
 * mulberry32 (Tommy Ettinger, public domain) as the generator. llm-sim keeps its own copy, not the
 * simulator's, so the simulator can later import llm-sim's timing model without a folder cycle.
 */

/** A function returning uniform numbers in [0, 1). */
export type Random = () => number;

/** FNV-1a (32 bit) over the UTF-16 code units of the parts, joined by NUL: a seed, not a digest. */
export function hashSeed(...parts: Array<string | number>): number {
  let h = 0x811c9dc5;
  const text = parts.join('\u0000');
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** mulberry32 seeded with `seed`: the same seed gives the same sequence. */
export function seededRandom(seed: number): Random {
  let a = seed >>> 0;
  return function next(): number {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** One standard normal sample (Box–Muller), for latency jitter. */
export function normal(random: Random): number {
  const u = 1 - random(); // (0, 1]: log(0) is -Infinity
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
}
