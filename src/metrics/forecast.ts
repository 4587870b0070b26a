/**
 * Forecasting on plain arrays, pure and allocation-light: additive Holt-Winters (level, damped
 * trend, seasonal of length `season`) and Holt's linear method as the fallback when there is less
 * than two seasons of data.
 *
 * Formulas: Hyndman & Athanasopoulos, "Forecasting: Principles and Practice" (3rd ed.), §8.2
 * (Holt, damped trend) and §8.3 (Holt-Winters additive):
 *   ℓt = α(yt − st−m) + (1−α)(ℓt−1 + φ bt−1)
 *   bt = β(ℓt − ℓt−1) + (1−β) φ bt−1
 *   st = γ(yt − ℓt−1 − φ bt−1) + (1−γ) st−m
 *   ŷt+h|t = ℓt + (φ + … + φ^h) bt + st+h−m(k+1)
 * Smoothing constants are chosen from a small grid by the mean absolute error of the h-step-ahead
 * forecasts made during one pass over the data (each forecast is made before its value is seen).
 * Accuracy is reported on the last quarter of the data as WAPE (Σ|e| / Σ|y|, safe with zeros) and
 * sMAPE, so callers can tell when the forecast is poor and fall back to reacting.
 */

/** A fitted model, updatable one observation at a time. */
export interface ForecastModel {
  kind: 'holt-winters' | 'holt';
  alpha: number;
  beta: number;
  gamma: number;
  /** Trend damping φ (1 = undamped). */
  phi: number;
  /** Season length in points (0 for Holt). */
  season: number;
  level: number;
  trend: number;
  /** Seasonal components, indexed by point number mod season. */
  seasonal: Float64Array;
  /** Number of points seen (the next point has index `n`). */
  n: number;
  /**
   * The holdout's h-step errors y − ŷ scaled by sqrt(max(ŷ, 1)), sorted ascending: an empirical
   * error distribution (see {@link errorQuantile}) that stays honest for heavy-tailed, bursty load.
   */
  scaledErrors: Float64Array;
  /** The horizon (points) the accuracy below refers to. */
  horizon: number;
  /** Accuracy of h-step-ahead forecasts on the holdout (the last quarter of the fit data). */
  accuracy: ForecastAccuracy;
}

/** How good the h-step-ahead forecasts were. */
export interface ForecastAccuracy {
  /** Weighted absolute percentage error: Σ|y − ŷ| / Σ|y| (0 = perfect; Infinity when Σ|y| = 0 and errors exist). */
  wape: number;
  /** Symmetric MAPE in 0..2 (terms with y = ŷ = 0 count as 0). */
  smape: number;
  /** Root mean square error, in the series' unit. */
  rmse: number;
  /** Mean signed error ŷ − y (positive = over-forecast). */
  bias: number;
  /**
   * Index of dispersion of the errors, mean(e² / max(ŷ, 1)): the error variance per unit of
   * level. For Poisson-like traffic the variance grows with the level, so
   * z·sqrt(dispersion·ŷ) is an upper band that is tight at night and wide at the peak.
   */
  dispersion: number;
  /** Points the measures are computed on. */
  points: number;
}

/** Options for {@link fitForecast}. */
export interface FitOptions {
  /** Season length in points; 0 or less than half the data → Holt's linear method. */
  season: number;
  /** Forecast horizon (points) to optimise and measure; default 1. */
  horizon?: number;
  /** Fixed constants; when omitted a grid search picks them. */
  alpha?: number;
  beta?: number;
  gamma?: number;
  phi?: number;
}

const ALPHAS = [0.05, 0.15, 0.3, 0.5, 0.8];
const BETAS = [0, 0.02, 0.1];
const GAMMAS = [0.05, 0.15, 0.35];

/** Sum of φ^1..φ^h: the damped-trend multiplier. */
function dampSum(phi: number, h: number): number {
  if (phi === 1) return h;
  let s = 0;
  let p = 1;
  for (let i = 0; i < h; i++) {
    p *= phi;
    s += p;
  }
  return s;
}

/** Initial level, trend and seasonals from the first two seasons (classical decomposition). */
function initialise(
  y: ArrayLike<number>,
  m: number,
): { level: number; trend: number; seasonal: Float64Array } {
  const seasonal = new Float64Array(Math.max(m, 1));
  if (m <= 0) {
    const level = y.length > 0 ? y[0]! : 0;
    const trend = y.length > 1 ? y[1]! - y[0]! : 0;
    return { level, trend: Number.isFinite(trend) ? trend : 0, seasonal };
  }
  let a = 0;
  let b = 0;
  for (let i = 0; i < m; i++) {
    a += y[i]!;
    b += y[m + i]!;
  }
  a /= m;
  b /= m;
  for (let i = 0; i < m; i++) seasonal[i] = (y[i]! - a + (y[m + i]! - b)) / 2;
  // start the recursion at point m with the first season's mean as level
  return { level: a, trend: (b - a) / m, seasonal };
}

interface PassResult {
  level: number;
  trend: number;
  mae: number;
  acc: ForecastAccuracy;
}

/** The smoothing constants of one pass: season length `m`, α, β, γ, damping φ and horizon `h`. */
interface PassModel {
  m: number;
  alpha: number;
  beta: number;
  gamma: number;
  phi: number;
  h: number;
}

/** Where a pass starts (initial level and trend, first point) and the arrays it updates. */
interface PassScratch {
  init: { level: number; trend: number };
  start: number;
  seasonal: Float64Array;
  ring: Float64Array;
}

/**
 * One smoothing pass over `y` from point `start`, updating `seasonal` in place, scoring the
 * h-step forecasts made along the way. `ring` is scratch space of length ≥ h.
 */
function pass(y: ArrayLike<number>, model: PassModel, scratch: PassScratch, collect?: number[]): PassResult {
  const { m, alpha, beta, gamma, phi, h } = model;
  const { init, start, seasonal, ring } = scratch;
  let level = init.level;
  let trend = init.trend;
  const n = y.length;
  const holdoutFrom = start + Math.floor(((n - start) * 3) / 4);
  const dh = dampSum(phi, h);
  let absAll = 0;
  let countAll = 0;
  let absErr = 0;
  let absY = 0;
  let sm = 0;
  let sq = 0;
  let bias = 0;
  let disp = 0;
  let pts = 0;
  ring.fill(NaN);
  for (let t = start; t < n; t++) {
    const yt = y[t]!;
    // the forecast of y[t] made h points ago
    const f = ring[t % h]!;
    if (!Number.isNaN(f)) {
      const e = f - yt;
      absAll += Math.abs(e);
      countAll++;
      if (t >= holdoutFrom) {
        absErr += Math.abs(e);
        absY += Math.abs(yt);
        const den = Math.abs(yt) + Math.abs(f);
        if (den > 0) sm += (2 * Math.abs(e)) / den;
        sq += e * e;
        disp += (e * e) / Math.max(f, 1);
        if (collect) collect.push(-e / Math.sqrt(Math.max(f, 1)));
        bias += e;
        pts++;
      }
    }
    const s = m > 0 ? seasonal[t % m]! : 0;
    const prevLevel = level;
    const damped = phi * trend;
    level = alpha * (yt - s) + (1 - alpha) * (prevLevel + damped);
    trend = beta * (level - prevLevel) + (1 - beta) * damped;
    if (m > 0) seasonal[t % m] = gamma * (yt - prevLevel - damped) + (1 - gamma) * s;
    // forecast for t + h, with the seasonal index of that point (already updated for its phase)
    const sh = m > 0 ? seasonal[(t + h) % m]! : 0;
    ring[(t + h) % h] = level + dh * trend + sh;
  }
  return {
    level,
    trend,
    mae: countAll > 0 ? absAll / countAll : Infinity,
    acc: {
      wape: absY > 0 ? absErr / absY : absErr > 0 ? Infinity : 0,
      smape: pts > 0 ? sm / pts : 0,
      rmse: pts > 0 ? Math.sqrt(sq / pts) : 0,
      bias: pts > 0 ? bias / pts : 0,
      dispersion: pts > 0 ? disp / pts : 0,
      points: pts,
    },
  };
}

/**
 * Fits Holt-Winters (with ≥ 2 seasons of data) or Holt's linear method (otherwise) to `y` and
 * returns the model positioned after the last point, or undefined with fewer than 4 points.
 */
export function fitForecast(y: ArrayLike<number>, options: FitOptions): ForecastModel | undefined {
  const n = y.length;
  if (n < 4) return undefined;
  const h = Math.max(1, Math.floor(options.horizon ?? 1));
  const m = options.season >= 2 && n >= 2 * options.season + 2 ? Math.floor(options.season) : 0;
  if (m > 0 && h >= m) return fitForecast(y, { ...options, season: 0 });
  const phi = options.phi ?? 0.98;
  const init = initialise(y, m);
  const start = m > 0 ? m : 1;
  const ring = new Float64Array(h);
  const scratch = new Float64Array(Math.max(m, 1));
  const alphas = options.alpha !== undefined ? [options.alpha] : ALPHAS;
  const betas = options.beta !== undefined ? [options.beta] : BETAS;
  const gammas = m === 0 ? [0] : options.gamma !== undefined ? [options.gamma] : GAMMAS;
  let best: { alpha: number; beta: number; gamma: number; mae: number } | undefined;
  for (const alpha of alphas) {
    for (const beta of betas) {
      for (const gamma of gammas) {
        scratch.set(init.seasonal);
        const r = pass(y, { m, alpha, beta, gamma, phi, h }, { init, start, seasonal: scratch, ring });
        if (!best || r.mae < best.mae) best = { alpha, beta, gamma, mae: r.mae };
      }
    }
  }
  const seasonal = new Float64Array(init.seasonal);
  const errs: number[] = [];
  const { alpha, beta, gamma } = best!;
  const r = pass(y, { m, alpha, beta, gamma, phi, h }, { init, start, seasonal, ring }, errs);
  const scaledErrors = Float64Array.from(errs).sort();
  return {
    kind: m > 0 ? 'holt-winters' : 'holt',
    alpha: best!.alpha,
    beta: best!.beta,
    gamma: best!.gamma,
    phi,
    season: m,
    level: r.level,
    trend: r.trend,
    seasonal,
    n,
    scaledErrors,
    horizon: h,
    accuracy: r.acc,
  };
}

/**
 * The p-quantile (0..1) of the model's holdout errors at level `at`: ŷ + errorQuantile(m, p, ŷ)
 * is an upper band that holds a fraction p of the time if the holdout is representative.
 * Errors scale with sqrt(level), as for Poisson-like counts. 0 when there is no holdout.
 */
export function errorQuantile(model: ForecastModel, p: number, at: number): number {
  const e = model.scaledErrors;
  if (e.length === 0) return 0;
  const i = Math.min(e.length - 1, Math.max(0, Math.ceil(p * e.length) - 1));
  return e[i]! * Math.sqrt(Math.max(at, 1));
}

/** Feeds one new observation to a fitted model, in place (the same recursion as the fit). */
export function updateForecast(model: ForecastModel, yt: number): void {
  const m = model.season;
  const s = m > 0 ? model.seasonal[model.n % m]! : 0;
  const prevLevel = model.level;
  const damped = model.phi * model.trend;
  model.level = model.alpha * (yt - s) + (1 - model.alpha) * (prevLevel + damped);
  model.trend = model.beta * (model.level - prevLevel) + (1 - model.beta) * damped;
  if (m > 0) model.seasonal[model.n % m] = model.gamma * (yt - prevLevel - damped) + (1 - model.gamma) * s;
  model.n++;
}

/** The forecast `h` points after the last observation (h ≥ 1). */
export function forecastAhead(model: ForecastModel, h: number): number {
  const m = model.season;
  const s = m > 0 ? model.seasonal[(model.n - 1 + h) % m]! : 0;
  return model.level + dampSum(model.phi, h) * model.trend + s;
}

/** WAPE of `forecast` against `actual` (Σ|e| / Σ|y|). */
export function wape(actual: ArrayLike<number>, forecast: ArrayLike<number>): number {
  let e = 0;
  let a = 0;
  const n = Math.min(actual.length, forecast.length);
  for (let i = 0; i < n; i++) {
    e += Math.abs(actual[i]! - forecast[i]!);
    a += Math.abs(actual[i]!);
  }
  return a > 0 ? e / a : e > 0 ? Infinity : 0;
}

/** sMAPE of `forecast` against `actual`, in 0..2. */
export function smape(actual: ArrayLike<number>, forecast: ArrayLike<number>): number {
  let s = 0;
  const n = Math.min(actual.length, forecast.length);
  if (n === 0) return 0;
  for (let i = 0; i < n; i++) {
    const den = Math.abs(actual[i]!) + Math.abs(forecast[i]!);
    if (den > 0) s += (2 * Math.abs(actual[i]! - forecast[i]!)) / den;
  }
  return s / n;
}
