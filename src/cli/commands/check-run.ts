/**
 * The body of `luascale check` (check.ts registers the command and loads this module when it runs):
 * the config loader, the policy sandbox and the OpenAPI importer load only then.
 */
import { isLuascaleError } from '../../core/errors.js';
import { badArgument } from '../bad-argument.js';
import { configError, loadConfig } from '../../config/load-config.js';
import { preflightIssues } from '../../app/preflight.js';
import { checkPortsFree } from '../../app/check-ports.js';
import { scalingFromConfig, type PolicyRef } from '../../config/scaling-settings.js';
import { loadPolicy, parsePolicyArg } from '../../controller/load-policy.js';
import { runTrial, type TrialPoint } from '../../controller/trial-policy.js';
import { readFileSync } from 'node:fs';
import { describeUnknownMetric, unknownMetricNames } from '../../controller/metric-names.js';
import { validateObservationInput } from '../../controller/observation-schema.js';
import { completeObservation, type Observation } from '../../policy/policy.js';
import { readJsonInput } from '../input.js';
import { checkOpenApi, openApiTable, type OpenApiSummary } from './check-openapi.js';

/** One checked item. */
export interface CheckResult {
  target: string;
  ok: boolean;
  message: string;
  /** For an OpenAPI document: what it imported. */
  openapi?: OpenApiSummary;
  /** Things that pass but look wrong (a metric name no catalogue or config lists, for a lone file). */
  warnings?: string[];
}

/** What `check` adds to the trial besides the policy. */
export interface CheckExtras {
  /** ctx.params for a lone policy (`--params`); a config's own `scaling.params` win for its services. */
  params?: Record<string, unknown>;
  /** One more trial point (`--input`). */
  points?: TrialPoint[];
}

/** How one policy is checked: its label in the output, sandbox limits, ctx.params and trial extras. */
interface PolicyCheck extends CheckExtras {
  label: string;
  limits?: { instructions: number; memoryBytes: number };
  params: Record<string, unknown>;
  /** The config's custom metric names (with a config only: then an unknown name is an error). */
  customMetrics?: string[];
}

/**
 * Loads a policy and runs the trial evaluations on it (typical, idle, overload, fractional values,
 * instances starting; src/controller/trial-policy.ts), so runtime errors, bad results and endless
 * loops show too. A hot reload runs the same trial before it replaces a running policy.
 */
async function checkPolicy(ref: PolicyRef, options: PolicyCheck): Promise<CheckResult> {
  const { label, limits, params, ...extras } = options;
  try {
    const policy = await loadPolicy(ref, limits);
    try {
      // Literal metric names the catalogue (and the config's `metrics`) do not know: an error
      // with a config, which lists every custom metric; a warning for a lone file, which cannot.
      const unknown =
        'file' in ref
          ? unknownMetricNames(readFileSync(ref.file, 'utf8'), extras.customMetrics ?? []).map((u) =>
              describeUnknownMetric(label, u, extras.customMetrics ?? []),
            )
          : [];
      if (unknown.length > 0 && extras.customMetrics !== undefined)
        return { target: label, ok: false, message: unknown.join('\n') };
      const trial = await runTrial((ctxs) => ctxs.map((ctx) => policy.evaluate(ctx)), {
        service: label,
        now: Date.now(),
        min: 1,
        max: 10,
        params,
        points: extras.points,
      });
      const warnings = unknown.length
        ? { warnings: unknown.map((u) => `${u} (a custom metric? check with the config that defines it)`) }
        : {};
      if (!trial.ok)
        return { target: label, ok: false, message: `${trial.error} (trial: ${trial.point})`, ...warnings };
      const counts = trial.recommendations.map((r) => `${r.point} ${r.replicas}`).join(', ');
      return {
        target: label,
        ok: true,
        message: `ok (trial evaluations recommend: ${counts})`,
        ...warnings,
      };
    } finally {
      policy.close?.();
    }
  } catch (err) {
    if (isLuascaleError(err)) return { target: label, ok: false, message: err.message };
    throw err;
  }
}

/** Checks a Lua file, a `builtin:NAME` or a whole config. */
export async function check(target: string, extras: CheckExtras = {}): Promise<CheckResult[]> {
  if (/\.ya?ml$/i.test(target)) {
    let loaded;
    try {
      loaded = loadConfig(target);
    } catch (err) {
      if (isLuascaleError(err)) return [{ target, ok: false, message: err.message }];
      throw err;
    }
    // The pre-flight `up` runs before it opens or binds anything (src/app/preflight.ts), then
    // whether the ports are free now: every config `up` refuses, `check` refuses (issue 17 item 6).
    const issues = await preflightIssues(loaded);
    let results: CheckResult[] = issues.length
      ? [{ target, ok: false, message: configError(target, issues).message }]
      : [{ target, ok: true, message: `ok (${Object.keys(loaded.config.services).length} service(s))` }];
    if (issues.length === 0) {
      try {
        await checkPortsFree(loaded);
      } catch (err) {
        if (!isLuascaleError(err)) throw err;
        // Held by a running luascale (checking the config it runs): `up` would refuse, `check` warns.
        results = /another luascale\?/.test(err.message)
          ? [{ ...results[0]!, warnings: [err.message] }]
          : [{ target, ok: false, message: err.message }];
      }
    }
    for (const name of Object.keys(loaded.config.services)) {
      const s = scalingFromConfig(loaded.config, name, loaded.baseDir);
      const label = 'file' in s.policy ? s.policy.file : `services.${name}: builtin:${s.policy.builtin}`;
      const ref = 'file' in s.policy ? s.policy : { ...s.policy, params: { ...s.policy.params } };
      // The service's own scaling.params, as `up` and `simulate -c` pass them (issue 18 item 10).
      results.push(
        await checkPolicy(ref, {
          label,
          limits: s.limits,
          params: { ...s.params, ...extras.params },
          points: extras.points,
          customMetrics: (loaded.config.services[name]!.metrics ?? []).map((m) => m.name),
        }),
      );
    }
    // Each service's OpenAPI document, imported as `up` imports it.
    results.push(...(await checkOpenApi(loaded)));
    return results;
  }
  if (!target.endsWith('.lua') && !target.startsWith('builtin:')) {
    throw badArgument(target, 'expected a .lua policy, builtin:NAME or a .yaml config');
  }
  const ref = parsePolicyArg(target, extras.params ?? {});
  return [await checkPolicy(ref, { label: target, params: extras.params ?? {}, points: extras.points })];
}

/** `luascale check FILE [--params] [--input] [--json]`: prints each result; exit code 1 when one fails. */
export async function checkCommand(
  file: string,
  opts: { json?: boolean; params?: string; input?: string },
): Promise<void> {
  const results = await check(file, checkExtras(opts));
  if (opts.json) process.stdout.write(JSON.stringify(results) + '\n');
  else {
    for (const r of results) {
      for (const w of r.warnings ?? []) process.stderr.write(`warning: ${w}\n`);
      const out = r.ok ? process.stdout : process.stderr;
      out.write(
        r.ok
          ? `${r.target}: ${r.message}\n`
          : `${r.message.includes(r.target) ? '' : `${r.target}: `}${r.message}\n`,
      );
    }
    process.stdout.write(openApiTable(results.flatMap((r) => (r.openapi ? [r.openapi] : []))));
  }
  if (results.some((r) => !r.ok)) process.exitCode = 1;
}

/** `--params` and `--input`, checked (a bad value is a usage error, exit 2). */
function checkExtras(opts: { params?: string; input?: string }): CheckExtras {
  const extras: CheckExtras = {};
  if (opts.params !== undefined) {
    let p: unknown;
    try {
      p = JSON.parse(opts.params);
    } catch (err) {
      throw badArgument('--params', `invalid JSON: ${(err as Error).message}`);
    }
    if (p === null || typeof p !== 'object' || Array.isArray(p))
      throw badArgument('--params', 'must be a JSON object such as {"target":60}');
    extras.params = p as Record<string, unknown>;
  }
  if (opts.input !== undefined) {
    const where = opts.input.startsWith('@') ? opts.input.slice(1) : '--input';
    const input = readJsonInput(opts.input);
    validateObservationInput(input, where);
    const {
      min: _min,
      max: _max,
      params: _p,
      state: _s,
      now: _n,
      service: _sv,
      ...obs
    } = input as Record<string, unknown>;
    const o = obs as Partial<Observation>;
    const replicas =
      o.replicas ??
      (o.ready !== undefined || o.starting !== undefined ? (o.ready ?? 0) + (o.starting ?? 0) : 1);
    extras.points = [{ name: '--input', observation: completeObservation({ ...o, replicas }) }];
  }
  return extras;
}
