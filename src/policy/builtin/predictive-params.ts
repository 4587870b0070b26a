/** The `predictive` built-in's params: names, defaults and ranges (docs/builtin-policies.md). */
import { paramReader } from './params.js';

/** Validated predictive params. */
export interface PredictiveParams {
  metric: string;
  target?: number;
  capacity?: number;
  targetUtilization: number;
  fallbackUtilization: number;
  scaleInDelayMs: number;
  /** Scale-in delay while the forecast is trusted; default the startup time. */
  trustedScaleInDelayMs?: number;
  startupS?: number;
  marginS: number;
  bucketS: number;
  /** Season length in buckets. */
  season: number;
  historyBuckets: number;
  refitEvery: number;
  maxError: number;
  quantile: number;
  windowS: number;
  surgeS: number;
  drainS: number;
  /** Square-root staffing coefficient β: n = D + β√D instances for a load of D instances. */
  staffingBeta: number;
  /** Quantile of the last `burstWindowS` of load the reactive answer covers. */
  burstQuantile: number;
  burstWindowS: number;
  /** Standard errors above the sample quantile the burst level is read at (a young window reads higher). */
  burstZ: number;
  /** Follow a surge above the burst level only if at least this share of recent surges outlasted the startup time. */
  surgePersistence: number;
  /** ...or once it has lasted this long (default: half the startup time). */
  surgeFollowS?: number;
  mode: 'forecast-and-scale' | 'forecast-only';
  /**
   * The guard (issue 22): never fewer instances than a reactive HPA-style rule (the highest
   * ceil(demand / (perInstance × guardUtilization)) of the last `guardWindowS`) unless the
   * calibrated upper bound on the load of the next startup + margin says fewer hold.
   */
  guard: boolean;
  guardUtilization: number;
  guardWindowS: number;
  /** Share of ticks whose load the calibrated bound covers (quantile tracking's target). */
  coverage: number;
  /** Quantile tracking's step (in units of the relative rise). */
  coverageStep: number;
  /** What a tick's calibrated fleet is scored against: the highest load of its horizon, or the load when it ends. */
  coverageScore: 'max' | 'end';
  /** Ticks the bound must have scored before it may go below the reactive rule. */
  guardWarmup: number;
  /**
   * The risk budget (predictive-risk-budget.ts): the share of a shadow HPA's over-capacity
   * seconds the fleet may spend (0: off); while it has some to spare the reactive rule's
   * utilisation rises from `guardUtilization` towards `guardUtilizationMax`, all the way once
   * `riskScaleS` seconds are spare.
   */
  riskShare: number;
  guardUtilizationMax: number;
  riskScaleS: number;
  /** Spare risk also shrinks the forecast's and the burst window's answers (not only the reactive rule's). */
  riskShrink: boolean;
  /** Share of ready capacity above which a second counts as over capacity. */
  riskKnee: number;
  /** The guard's HPA-style rule follows a surge above the burst level only as the other answers do (`surge_persistence`, `surge_follow_s`). */
  guardFollow: boolean;
}

/** Validates predictive params. */
export function parsePredictiveParams(params: Readonly<Record<string, unknown>>): PredictiveParams {
  const r = paramReader('predictive', params);
  r.onlyKeys([
    'metric',
    'target',
    'capacity',
    'target_utilization',
    'startup_s',
    'margin_s',
    'bucket_s',
    'season',
    'history',
    'refit_every',
    'max_error',
    'quantile',
    'window_s',
    'surge_s',
    'drain_s',
    'burst_quantile',
    'staffing_beta',
    'burst_window_s',
    'burst_z',
    'surge_persistence',
    'surge_follow_s',
    'mode',
    'fallback_utilization',
    'scale_in_delay',
    'trusted_scale_in_delay',
    'guard',
    'guard_utilization',
    'guard_window_s',
    'coverage',
    'coverage_step',
    'coverage_score',
    'guard_warmup',
    'risk_share',
    'guard_utilization_max',
    'risk_scale_s',
    'risk_knee',
    'risk_shrink',
    'guard_follow',
  ]);
  const bucketS = r.number('bucket_s', 60, { min: 1, max: 3600 });
  const seasonMs = r.duration('season', 86_400_000);
  const historyMs = r.duration('history', 7 * 86_400_000);
  const season = Math.round(seasonMs / 1000 / bucketS);
  if (season < 2) r.fail(`season: must span at least 2 buckets of ${bucketS}s, got ${seasonMs / 1000}s`);
  const historyBuckets = Math.round(historyMs / 1000 / bucketS);
  if (historyBuckets > 200_000)
    r.fail(`history: at most 200000 buckets of ${bucketS}s, got ${historyBuckets}`);
  return {
    metric: r.string('metric', 'rps'),
    target: r.optionalNumber('target', { min: 0, exclusiveMin: true }),
    capacity: r.optionalNumber('capacity', { min: 0, exclusiveMin: true }),
    targetUtilization: r.number('target_utilization', 1, { min: 0, max: 1, exclusiveMin: true }),
    scaleInDelayMs: r.duration('scale_in_delay', 0),
    trustedScaleInDelayMs:
      params.trusted_scale_in_delay === undefined ? undefined : r.duration('trusted_scale_in_delay', 0),
    fallbackUtilization: r.number('fallback_utilization', 0.97, { min: 0, max: 1, exclusiveMin: true }),
    startupS: r.optionalNumber('startup_s', { min: 0, max: 3600 }),
    marginS: r.number('margin_s', 30, { min: 0, max: 3600 }),
    bucketS,
    season,
    historyBuckets,
    refitEvery: r.number('refit_every', 360, { min: 1 }),
    maxError: r.number('max_error', 0.35, { min: 0 }),
    quantile: r.number('quantile', 0.9, { min: 0.5, max: 0.999 }),
    windowS: r.number('window_s', 30, { min: 1, max: 600 }),
    surgeS: r.number('surge_s', 5, { min: 1, max: 600 }),
    drainS: r.number('drain_s', 10, { min: 1, max: 600 }),
    staffingBeta: r.number('staffing_beta', 0.18, { min: 0, max: 10 }),
    burstQuantile: r.number('burst_quantile', 0.93, { min: 0, max: 1 }),
    burstWindowS: r.number('burst_window_s', 900, { min: 1, max: 3600 }),
    burstZ: r.number('burst_z', 1.5, { min: 0, max: 10 }),
    surgePersistence: r.number('surge_persistence', 0.5, { min: 0, max: 1 }),
    surgeFollowS: r.optionalNumber('surge_follow_s', { min: 0, max: 3600 }),
    mode: r.oneOf('mode', ['forecast-and-scale', 'forecast-only'] as const, 'forecast-and-scale'),
    guard: r.boolean('guard', true),
    guardUtilization: r.number('guard_utilization', 0.7, { min: 0, max: 1, exclusiveMin: true }),
    guardWindowS: r.number('guard_window_s', 30, { min: 0, max: 3600 }),
    coverage: r.number('coverage', 0.995, { min: 0.5, max: 0.9999 }),
    coverageStep: r.number('coverage_step', 0.01, { min: 0, max: 10, exclusiveMin: true }),
    coverageScore: r.oneOf('coverage_score', ['max', 'end'] as const, 'end'),
    guardWarmup: r.number('guard_warmup', 600, { min: 0 }),
    riskShare: r.number('risk_share', 0.8, { min: 0, max: 1 }),
    guardUtilizationMax: r.number('guard_utilization_max', 0.85, { min: 0, max: 1, exclusiveMin: true }),
    riskScaleS: r.number('risk_scale_s', 60, { min: 0, max: 86_400, exclusiveMin: true }),
    riskShrink: r.boolean('risk_shrink', true),
    riskKnee: r.number('risk_knee', 1, { min: 0, max: 1, exclusiveMin: true }),
    guardFollow: r.boolean('guard_follow', true),
  };
}
