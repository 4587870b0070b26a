/**
 * A seeded pseudo-random source for reproducible Poisson arrivals (`--seed`).
 * mulberry32 (Tommy Ettinger, public domain): 32-bit state, full period 2^32, good enough for
 * arrival noise and tiny compared with a Mersenne Twister.
 */

/** A function returning uniform numbers in [0, 1). */
export type Random = () => number;

/** mulberry32 seeded with `seed` (any integer; the same seed gives the same sequence). */
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

/**
 * One Poisson(lambda) sample. Small lambda: Knuth's multiplication method (expected lambda + 1
 * uniforms). lambda >= 30: Hörmann's PTRS transformed rejection ("The transformed rejection method
 * for generating Poisson random variables", Insurance: Mathematics and Economics 12, 1993), O(1).
 */
export function poisson(random: Random, lambda: number): number {
  if (!(lambda > 0)) return 0;
  if (lambda < 30) {
    const limit = Math.exp(-lambda);
    let k = 0;
    let p = random();
    while (p > limit) {
      k++;
      p *= random();
    }
    return k;
  }
  const slam = Math.sqrt(lambda);
  const loglam = Math.log(lambda);
  const b = 0.931 + 2.53 * slam;
  const a = -0.059 + 0.02483 * b;
  const invalpha = 1.1239 + 1.1328 / (b - 3.4);
  const vr = 0.9277 - 3.6224 / (b - 2);
  for (;;) {
    const u = random() - 0.5;
    const v = random();
    const us = 0.5 - Math.abs(u);
    const k = Math.floor(((2 * a) / us + b) * u + lambda + 0.43);
    if (us >= 0.07 && v <= vr) return k;
    if (k < 0 || (us < 0.013 && v > us)) continue;
    if (
      Math.log(v) + Math.log(invalpha) - Math.log(a / (us * us) + b) <=
      -lambda + k * loglam - logFactorial(k)
    )
      return k;
  }
}

const smallLogFactorials: number[] = [0];
for (let i = 1; i < 64; i++) smallLogFactorials.push(smallLogFactorials[i - 1]! + Math.log(i));

function logFactorial(k: number): number {
  if (k < 64) return smallLogFactorials[k]!;
  // Stirling's series to 1/(360 k^3): exact to double precision for k >= 64.
  return (k + 0.5) * Math.log(k) - k + 0.5 * Math.log(2 * Math.PI) + 1 / (12 * k) - 1 / (360 * k * k * k);
}
