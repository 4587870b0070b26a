/**
 * The body of `luascale eval` (eval.ts registers the command and loads this module when it runs):
 * the config loader and the policy sandbox load only then.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { LuascaleError } from '../../core/errors.js';
import { loadConfig, scalingFromConfig } from '../../config/index.js';
import { evaluateSteps, type EvalSettings, type EvalStep } from '../../controller/evaluate-once.js';
import { parsePolicyArg } from '../../controller/load-policy.js';
import type { PolicySource } from '../../controller/load-policy.js';
import { stateWarnings } from '../../controller/state-usage.js';
import { formatRows, readJsonInput } from '../input.js';
import { badArgument } from '../bad-argument.js';
import { BUILTIN_NAMES } from '../../policy/builtins.js';

/** The options of `eval` as commander hands them over. */
export interface EvalFlags {
  input?: string;
  steps?: string;
  json?: boolean;
  config?: string;
  service?: string;
}

/** Reads `--steps`: one JSON object per line; a `simulate --decisions` line's `inputs` (and `at`) work too. */
function readSteps(file: string): { inputs: unknown[]; names: string[] } {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new LuascaleError('LS_ERR_CLI_INPUT', {
      where: file,
      reason: `cannot read (${(err as NodeJS.ErrnoException).code})`,
    });
  }
  const inputs: unknown[] = [];
  const names: string[] = [];
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch (err) {
      throw new LuascaleError('LS_ERR_CLI_INPUT', {
        where: `${file}:${i + 1}`,
        reason: `invalid JSON: ${(err as Error).message}`,
      });
    }
    if (v && typeof v === 'object' && 'inputs' in v && 'replicas' in v && 'reason' in v) {
      // A Decision from `simulate --decisions`: replay what its policy saw.
      const d = v as { inputs: Record<string, unknown>; at?: number };
      const { operations, metrics, ...obs } = d.inputs;
      v = {
        ...obs,
        ...(operations && Object.keys(operations).length ? { operations } : {}),
        ...(metrics && Object.keys(metrics).length ? { metrics } : {}),
        ...(d.at !== undefined ? { now: d.at } : {}),
      };
    }
    inputs.push(v);
    names.push(`${file}:${i + 1}`);
  });
  if (inputs.length === 0)
    throw new LuascaleError('LS_ERR_CLI_INPUT', {
      where: file,
      reason: 'no observations (one JSON object per line)',
    });
  return { inputs, names };
}

/** The service's settings and policy from `-c luascale.yaml --service S`. */
function serviceSettings(
  config: string,
  service: string | undefined,
): { settings: EvalSettings; policy: PolicySource } {
  const { config: cfg } = loadConfig(config);
  const names = Object.keys(cfg.services);
  const name = service ?? (names.length === 1 ? names[0]! : undefined);
  if (name === undefined || !cfg.services[name])
    throw badArgument(
      '--service',
      `${service === undefined ? 'needed' : `no service "${service}"`} in ${config} (services: ${names.join(', ')})`,
    );
  const s = scalingFromConfig(cfg, name, dirname(resolve(config)));
  return {
    policy: s.policy,
    settings: {
      service: name,
      min: s.min,
      max: s.max,
      intervalMs: s.intervalMs,
      behavior: s.behavior,
      params: 'builtin' in s.policy ? s.policy.params : s.params,
      limits: { instructions: s.limits.instructions, memoryBytes: s.limits.memoryBytes },
      observation: {
        ...(s.slo ? { slo: s.slo } : {}),
        ...(s.startupMs !== undefined ? { startup_s: s.startupMs / 1000 } : {}),
      },
    },
  };
}

/** The JSON line of one step (`--json`). */
function stepJson(step: EvalStep, withSteps: boolean): Record<string, unknown> {
  const d = step.decision;
  const outcome = d.policy.outcome;
  return {
    replicas: d.replicas,
    reason: d.reason,
    message: d.message,
    logs: outcome.logs,
    alerts: outcome.alerts,
    current: d.current,
    mode: d.mode,
    policy: d.policy.name,
    recommended: outcome.ok ? outcome.replicas : null,
    error: outcome.ok ? null : outcome.error,
    code: outcome.ok ? null : outcome.code,
    detail: outcome.ok ? (outcome.detail ?? null) : null,
    steps: d.steps,
    ...(withSteps ? { at: d.at, state: step.state, observation: step.observation } : {}),
    warnings: stateWarnings(step.state),
  };
}

/** The rows of one step (the default output). */
function stepRows(step: EvalStep, multi: boolean): Array<[string, string]> {
  const d = step.decision;
  const outcome = d.policy.outcome;
  const rows: Array<[string, string]> = [
    ['replicas', `${d.current} → ${d.replicas}`],
    ['reason', d.reason],
    ['message', d.message],
    [
      'policy',
      `${d.policy.name}: ${outcome.ok ? `recommends ${outcome.replicas}` : `${outcome.error} (${outcome.code})`}`,
    ],
  ];
  for (const s of d.steps) rows.push([`  ${s.stage}`, `${s.from} → ${s.to} ${s.reason}: ${s.note}`]);
  if (outcome.ok && outcome.detail) rows.push(['detail', JSON.stringify(outcome.detail)]);
  for (const l of outcome.logs) rows.push(['log', l]);
  for (const a of outcome.alerts) rows.push(['alert', `[${a.severity}] ${a.message}`]);
  if (multi) {
    rows.unshift(['at', new Date(d.at).toISOString()]);
    rows.push(['observation', JSON.stringify(nonZero(step.observation))]);
    rows.push(['state', JSON.stringify(step.state)]);
  }
  for (const w of stateWarnings(step.state)) rows.push(['warning', w]);
  return rows;
}

/** The observation without its zero and empty fields: what was set, as the policy saw it. */
function nonZero(o: object): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) {
    if (v === 0 || v === undefined || (k === 'fresh' && v === true)) continue;
    if (v && typeof v === 'object') {
      const inner = nonZero(v);
      if (Object.keys(inner).length) out[k] = inner;
    } else out[k] = v;
  }
  return out;
}

/** `luascale eval`: checks the flags, runs the decisions, prints them (exit code 1 on a PolicyError). */
export async function evalCommand(policyArg: string | undefined, opts: EvalFlags): Promise<void> {
  if (policyArg?.startsWith('builtin:') && !BUILTIN_NAMES.includes(policyArg.slice('builtin:'.length)))
    throw badArgument(policyArg, `unknown built-in policy (known: ${BUILTIN_NAMES.join(', ')})`);
  if ((opts.input === undefined) === (opts.steps === undefined))
    throw badArgument('--input', 'give --input JSON|@file or --steps FILE.jsonl (one of them)');
  if (opts.service !== undefined && opts.config === undefined)
    throw badArgument('--service', 'needs -c luascale.yaml');
  const fromConfig = opts.config !== undefined ? serviceSettings(opts.config, opts.service) : undefined;
  if (policyArg === undefined && !fromConfig)
    throw badArgument('<policy>', 'give a policy file or builtin:NAME (or -c luascale.yaml)');
  const policy: PolicySource = policyArg !== undefined ? parsePolicyArg(policyArg) : fromConfig!.policy;
  // Inline JSON is an argument value (a bad field: exit 2); an @file's fields are the file's (1).
  const { inputs, names } =
    opts.steps !== undefined
      ? readSteps(opts.steps)
      : {
          inputs: [readJsonInput(opts.input!)],
          names: [opts.input!.startsWith('@') ? opts.input!.slice(1) : '--input'],
        };
  const steps = await evaluateSteps(policy, inputs, {
    inputNames: names,
    settings: fromConfig?.settings,
  });
  const multi = opts.steps !== undefined;
  if (opts.json) for (const s of steps) process.stdout.write(JSON.stringify(stepJson(s, multi)) + '\n');
  else
    process.stdout.write(
      steps
        .map((s, i) => (multi ? `# step ${i + 1} (${names[i]})\n` : '') + formatRows(stepRows(s, multi)))
        .join('\n'),
    );
  if (steps.some((s) => s.decision.reason === 'PolicyError')) process.exitCode = 1;
}
