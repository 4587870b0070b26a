/**
 * Synthetic traces for `predictive`'s cross-validation (issue 22, docs/backtests.md
 * "Cross-validation"), built from generators with seeds rather than cut from the shared files:
 * flash crowds (a 10× step within minutes), diurnal traffic with overdispersed noise and short
 * spikes, and bursty per-second traffic. Each generator is deterministic for its seed (mulberry32,
 * src/simulator/random.ts) and returns [t, rps] rows at its resolution; derived-traces.ts scales
 * the peak to the instances it asks for.
 */
import { seededRandom, type Random } from '../src/simulator/random.js';

type Rows = Array<[number, number]>;

/** A standard normal sample (Box–Muller). */
function gauss(rnd: Random): number {
  const u = Math.max(1e-12, rnd());
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rnd());
}

/** A day-shaped level in [1 − depth, 1 + depth]: low at night, highest in the afternoon. */
function daily(tS: number, depth: number, phase: number): number {
  return 1 + depth * Math.sin((2 * Math.PI * (tS / 86_400 - 0.3 + phase)) % (2 * Math.PI));
}

/** Options of a flash-crowd trace. */
export interface FlashOptions {
  seed: number;
  /** Length, seconds. */
  seconds: number;
  /** Row width, seconds (1: per second). */
  step: number;
  /** How many flash crowds. */
  crowds: number;
}

/**
 * A flash crowd: slow traffic with multiplicative noise, then (at random times past the first
 * hour) a rise to 8–12× within 1–4 minutes, held 10–40 minutes with noise, decaying over 10–30.
 */
export function flashCrowd(o: FlashOptions): Rows {
  const rnd = seededRandom(o.seed);
  const events = Array.from({ length: o.crowds }, (_, i) => ({
    at: 3600 + ((o.seconds - 3 * 3600) * (i + rnd())) / o.crowds,
    rise: 60 + 180 * rnd(),
    hold: 600 + 1800 * rnd(),
    decay: 600 + 1200 * rnd(),
    height: 8 + 4 * rnd(),
  }));
  const rows: Rows = [];
  let ar = 0;
  for (let t = 0; t < o.seconds; t += o.step) {
    ar = 0.98 * ar + 0.2 * Math.sqrt(1 - 0.98 ** 2) * gauss(rnd);
    let x = daily(t, 0.3, 0.1 * o.seed);
    for (const e of events) {
      const d = t - e.at;
      if (d < 0) continue;
      const up = d < e.rise ? d / e.rise : 1;
      const down = d < e.rise + e.hold ? 1 : Math.exp(-(d - e.rise - e.hold) / (e.decay / 3));
      x += (e.height - 1) * up * down;
    }
    rows.push([t, Math.max(0, x * Math.exp(ar + 0.1 * gauss(rnd)))]);
  }
  return rows;
}

/** Options of a diurnal trace with noise. */
export interface DiurnalOptions {
  seed: number;
  days: number;
  /** Row width, seconds (60: per minute). */
  step: number;
  /** Standard deviation of the per-row log noise (overdispersion beyond Poisson). */
  noise: number;
  /** Expected short spikes (2–4× for 1–10 minutes) per day. */
  spikesPerDay: number;
}

/**
 * Diurnal traffic: a daily cycle (weekends lower), a slowly wandering level (AR(1) on the log), per-row
 * log-normal noise and short spikes, as web and load-balancer traces show.
 */
export function diurnal(o: DiurnalOptions): Rows {
  const rnd = seededRandom(o.seed);
  const rows: Rows = [];
  const end = o.days * 86_400;
  let level = 0;
  let spikeEnd = -1;
  let spikeH = 1;
  const pSpike = (o.spikesPerDay * o.step) / 86_400;
  for (let t = 0; t < end; t += o.step) {
    level = 0.995 * level + 0.15 * Math.sqrt(1 - 0.995 ** 2) * gauss(rnd);
    if (t >= spikeEnd && rnd() < pSpike) {
      spikeEnd = t + 60 + 540 * rnd();
      spikeH = 2 + 2 * rnd();
    }
    const weekend = Math.floor(t / 86_400) % 7 >= 5 ? 0.7 : 1;
    const x = weekend * daily(t, 0.6, 0.05 * o.seed) * Math.exp(level + o.noise * gauss(rnd));
    rows.push([t, Math.max(0, x * (t < spikeEnd ? spikeH : 1))]);
  }
  return rows;
}

/** Options of a bursty per-second trace. */
export interface BurstyOptions {
  seed: number;
  seconds: number;
  /** Expected bursts per hour. */
  burstsPerHour: number;
}

/**
 * Bursty per-second traffic (a social stream): a slow level with heavy per-second noise and
 * bursts of 5–120 s at 2–5× the level, arriving as a Poisson process.
 */
export function bursty(o: BurstyOptions): Rows {
  const rnd = seededRandom(o.seed);
  const rows: Rows = [];
  let level = 0;
  let burstEnd = -1;
  let burstH = 1;
  for (let t = 0; t < o.seconds; t++) {
    level = 0.999 * level + 0.3 * Math.sqrt(1 - 0.999 ** 2) * gauss(rnd);
    if (t >= burstEnd && rnd() < o.burstsPerHour / 3600) {
      burstEnd = t + 5 + 115 * rnd() ** 2;
      burstH = 2 + 3 * rnd();
    }
    const x = daily(t, 0.4, 0.07 * o.seed) * Math.exp(level + 0.25 * gauss(rnd));
    rows.push([t, Math.max(0, x * (t < burstEnd ? burstH : 1))]);
  }
  return rows;
}
