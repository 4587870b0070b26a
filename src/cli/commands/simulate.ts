/**
 * `luascale simulate`: replay a request-rate trace through one or more policies and report cost,
 * SLO violations and SPEC RG elasticity metrics (docs/simulator.md).
 */
import { closeSync, openSync, writeFileSync, writeSync } from 'node:fs';
import { dirname, normalize, resolve } from 'node:path';
import type { Command } from 'commander';
import { isLuascaleError, LuascaleError } from '../../core/errors.js';
import { badArgument } from '../bad-argument.js';
import { parseDuration } from '../../core/duration.js';
import { loadConfig, scalingFromConfig } from '../../config/index.js';
import { loadPolicy } from '../../controller/load-policy.js';
import { readTrace, type Trace } from '../../simulator/trace.js';
import {
  DEFAULT_MODEL,
  simulate,
  type ModelParams,
  type SimulatedPolicy,
  type SimulationResult,
  type SimulationSummary,
} from '../../simulator/simulate.js';
import { parseValue, scalingOverrides, simulationPolicy } from '../../simulator/simulation-policy.js';
import type { DecisionExplanation } from '../../simulator/decision-tally.js';
import { renderReport } from '../../simulator/html-report.js';

/** Options as commander hands them over (all strings; defaults are applied here). */
interface SimulateFlags {
  trace: string;
  scale?: string;
  policy?: string;
  set: string[];
  capacity?: string;
  serviceMs?: string;
  startup?: string;
  sloP95Ms?: string;
  queueTimeout?: string;
  min?: string;
  max?: string;
  seed?: string;
  interval?: string;
  initial?: string;
  start?: string;
  json?: boolean;
  report?: string;
  compare?: string;
  config?: string;
  service?: string;
  progress?: boolean;
  decisions?: string;
  behavior?: string;
  slo?: string;
}

/** Where the output goes (tests pass their own). */
export interface SimulateIo {
  out: (s: string) => void;
  err: (s: string) => void;
  /** Whether stderr is a terminal (progress bar). */
  tty: boolean;
}

const DEFAULT_LIMITS = { min: 1, max: 100 };

/** Errors that mean a policy spec (`builtin:NAME?k=v`) itself is wrong, not a file it names. */
const BAD_SPEC_CODES: ReadonlySet<string> = new Set([
  'LS_ERR_CLI_USAGE',
  'LS_ERR_POLICY_UNKNOWN_BUILTIN',
  'LS_ERR_POLICY_PARAMS',
]);

/** Runs `luascale simulate` with parsed flags; resolves to the summaries printed. */
export async function runSimulate(flags: SimulateFlags, io: SimulateIo): Promise<SimulationSummary[]> {
  // Every argument value is checked (exit 2) before the trace file is read (exit 1 on its errors).
  const scale = num(flags.scale, '--scale', 1, { min: 0, exclusiveMin: true });
  const seed = flags.seed === undefined ? undefined : int(flags.seed, '--seed', 0, {});
  let min = flags.min === undefined ? undefined : int(flags.min, '--min', 0, { min: 0 });
  let max = flags.max === undefined ? undefined : int(flags.max, '--max', 0, { min: 1 });
  const intervalMs = flags.interval === undefined ? undefined : duration(flags.interval, '--interval');
  const initial = flags.initial === undefined ? undefined : int(flags.initial, '--initial', 0, { min: 0 });
  const startMs = flags.start === undefined ? 0 : startTime(flags.start);
  const model: ModelParams = {
    capacity: num(flags.capacity, '--capacity', DEFAULT_MODEL.capacity, { min: 0, exclusiveMin: true }),
    serviceMs: num(flags.serviceMs, '--service-ms', DEFAULT_MODEL.serviceMs, { min: 0, exclusiveMin: true }),
    startupS: num(flags.startup, '--startup', DEFAULT_MODEL.startupS, { min: 0 }),
    sloP95Ms: num(flags.sloP95Ms, '--slo-p95-ms', DEFAULT_MODEL.sloP95Ms, { min: 0, exclusiveMin: true }),
    queueTimeoutS: num(flags.queueTimeout, '--queue-timeout', DEFAULT_MODEL.queueTimeoutS, { min: 0 }),
    drainS: DEFAULT_MODEL.drainS,
  };
  const params: Record<string, unknown> = {};
  for (const kv of flags.set ?? []) {
    const eq = kv.indexOf('=');
    if (eq <= 0) throw badArgument('--set', `expected key=value, got "${kv}"`);
    params[kv.slice(0, eq)] = parseValue(kv.slice(eq + 1));
  }
  if (flags.config !== undefined && !flags.service) throw badArgument('-c/--config', 'needs --service NAME');
  let overrides: ReturnType<typeof scalingOverrides> = {};
  try {
    overrides = scalingOverrides({ behavior: flags.behavior, slo: flags.slo });
  } catch (err) {
    if (isLuascaleError(err))
      throw badArgument(
        flags.behavior !== undefined ? '--behavior' : '--slo',
        String(err.details.reason).replace(/^--\w+: /, ''),
      );
    throw err;
  }
  if (flags.sloP95Ms === undefined && overrides.slo?.latency_p95_ms !== undefined)
    model.sloP95Ms = overrides.slo.latency_p95_ms;
  const trace = readTrace(flags.trace);

  const policies: SimulatedPolicy[] = [];
  let configSlo: SimulationSlo | undefined;
  try {
    if (flags.config !== undefined) {
      const { config } = loadConfig(flags.config);
      if (!config.services[flags.service!])
        throw badArgument(
          '--service',
          `no service "${flags.service}" in ${flags.config} (services: ${Object.keys(config.services).join(', ')})`,
        );
      const s = scalingFromConfig(config, flags.service!, dirname(resolve(flags.config)));
      if (flags.startup === undefined && s.startupMs !== undefined) model.startupS = s.startupMs / 1000;
      if (flags.sloP95Ms === undefined && s.slo?.latency_p95_ms !== undefined && !overrides.slo)
        model.sloP95Ms = s.slo.latency_p95_ms;
      configSlo = s.slo;
      const policyParams =
        'builtin' in s.policy ? { ...s.policy.params, ...params } : { ...s.params, ...params };
      const ref = 'builtin' in s.policy ? { builtin: s.policy.builtin, params: policyParams } : s.policy;
      const policy = await loadPolicy(ref, {
        instructions: s.limits.instructions,
        memoryBytes: s.limits.memoryBytes,
      });
      policies.push({
        label: `${flags.service}: ${'builtin' in s.policy ? `builtin:${s.policy.builtin}` : normalize(s.policy.file)}`,
        policy,
        params: policyParams,
        intervalMs: intervalMs ?? s.intervalMs,
        windowMs: s.windowMs,
        behavior: s.behavior,
        min: min ?? s.min,
        max: max ?? s.max,
      });
    }
    min ??= DEFAULT_LIMITS.min;
    max ??= DEFAULT_LIMITS.max;
    if (min > max) throw badArgument('--min', `must be <= --max (${max}), got ${min}`);
    const specs: Array<{ arg: string; params: Record<string, unknown> }> = [];
    if (Object.keys(params).length > 0 && flags.policy === undefined && flags.config === undefined)
      throw badArgument(
        '--set',
        'applies to --policy (or the policy of -c); give --compare params as builtin:NAME?key=value',
      );
    if (flags.policy !== undefined) specs.push({ arg: flags.policy, params });
    for (const arg of splitList(flags.compare)) specs.push({ arg, params: {} });
    if (specs.length === 0 && policies.length === 0) {
      throw badArgument(
        '--policy',
        'give --policy FILE.lua|builtin:NAME, --compare A,B,... or -c luascale.yaml --service NAME',
      );
    }
    for (const s of specs) {
      const flag = s.arg === flags.policy ? '--policy' : '--compare';
      policies.push(
        await simulationPolicy(s.arg, {
          capacity: model.capacity,
          serviceMs: model.serviceMs,
          startupS: model.startupS,
          min,
          max,
          intervalMs,
          params: s.params,
        }).catch((err: unknown) => {
          // A spec that names no policy or bad params is a bad argument value (2); a policy file
          // that is missing or does not compile stays a file error (1), naming the file.
          if (isLuascaleError(err) && BAD_SPEC_CODES.has(err.code)) throw badArgument(flag, err.message);
          throw err;
        }),
      );
    }

    if (overrides.behavior) for (const p of policies) p.behavior = overrides.behavior;
    const results: SimulationResult[] = [];
    const progress = flags.progress !== false && io.tty ? progressBar(io.err) : undefined;
    const log = flags.decisions !== undefined ? decisionLog(flags.decisions) : undefined;
    try {
      policies.forEach((p, i) => {
        const result = simulate({
          trace,
          scale,
          seed,
          model,
          policy: p,
          initial,
          startMs,
          slo: overrides.slo ?? (flags.config === undefined ? undefined : configSlo),
          seriesPoints: flags.report ? 1500 : 0,
          onProgress: progress
            ? (done, total) => progress.update((i + done / total) / policies.length, p.label)
            : undefined,
          onDecision: log ? (d, second) => log.write({ run: p.label, second, ...d }) : undefined,
        });
        results.push(result);
        for (const w of result.warnings) io.err(`warning: ${p.label}: ${w}\n`);
      });
    } finally {
      log?.close();
    }
    progress?.done();

    const summaries = results.map((r) => r.summary);
    if (flags.json) {
      // One JSON object per policy, one per line (JSON Lines), in the order given.
      for (const s of summaries) io.out(JSON.stringify(s) + '\n');
    } else {
      io.out(formatTable(trace, scale, model, summaries));
      io.out(formatExplanations(results.map((r) => [r.summary.policy, r.explanation])));
    }
    if (flags.decisions !== undefined && !flags.json) io.out(`decisions: ${flags.decisions}\n`);
    if (flags.report) {
      const html = renderReport({
        trace: {
          file: trace.file,
          stepSeconds: trace.stepSeconds,
          durationSeconds: trace.durationSeconds,
          gaps: trace.gaps.length,
        },
        scale,
        seed,
        startMs,
        model,
        runs: results.map((result, i) => ({
          result,
          intervalMs: Math.max(1000, Math.round(policies[i]!.intervalMs / 1000) * 1000),
          min: policies[i]!.min,
          max: policies[i]!.max,
        })),
        generatedAt: new Date(),
      });
      try {
        writeFileSync(flags.report, html);
      } catch (err) {
        throw new LuascaleError('LS_ERR_CLI_INPUT', {
          where: flags.report,
          reason: `cannot write report: ${(err as Error).message}`,
        });
      }
      if (!flags.json) io.out(`report: ${flags.report}\n`);
    }
    return summaries;
  } finally {
    for (const p of policies) p.policy.close?.();
  }
}

type SimulationSlo = NonNullable<Parameters<typeof simulate>[0]['slo']>;

/** `--decisions`: every Decision (with its logs and alerts) as one JSON line, written as it comes. */
function decisionLog(file: string): { write(d: object): void; close(): void } {
  let fd: number;
  try {
    fd = openSync(file, 'w');
  } catch (err) {
    throw new LuascaleError('LS_ERR_CLI_INPUT', {
      where: file,
      reason: `cannot write decisions: ${(err as Error).message}`,
    });
  }
  let buf: string[] = [];
  const flush = () => {
    if (buf.length) writeSync(fd, buf.join(''));
    buf = [];
  };
  return {
    write(d) {
      buf.push(JSON.stringify(d) + '\n');
      if (buf.length >= 1000) flush();
    },
    close() {
      flush();
      closeSync(fd);
    },
  };
}

/** Plain words for the decision core's adjustments (reason codes of DecisionStep). */
const ADJUSTMENT_WORDS: Record<string, string> = {
  ScaleDownStabilized: 'scale-downs held by the stabilization window',
  ScaleUpStabilized: 'scale-ups held by the stabilization window',
  ScaleDownLimited: 'scale-downs cut by the rate limits',
  ScaleUpLimited: 'scale-ups cut by the rate limits',
  WithinTolerance: 'changes ignored within the tolerance band',
  Cooldown: 'changes held by the cooldown',
  PanicHold: 'scale-downs held in panic mode',
  PanicScaleUp: 'scale-ups in panic mode',
  ClampedToMax: 'answers clamped to max',
  ClampedToMin: 'answers clamped to min',
  AwaitingStartup: 'changes held while instances start',
};

/** Below the table (not in --json): per policy, what the decisions add up to and why. */
export function formatExplanations(runs: Array<[string, DecisionExplanation]>): string {
  const n = (x: number) => x.toLocaleString('en-US');
  const out: string[] = [];
  for (const [label, e] of runs) {
    out.push('', `${label}:`);
    out.push(
      `  decisions by reason: ${Object.entries(e.reasons)
        .map(([k, v]) => `${k} ${n(v)}`)
        .join(', ')}`,
    );
    const adj = Object.entries(e.adjustments);
    out.push(
      adj.length === 0
        ? '  the decision core changed no answer of the policy'
        : `  the decision core: ${adj.map(([k, v]) => `${n(v)} ${ADJUSTMENT_WORDS[k] ?? k}`).join(', ')}`,
    );
    const h = e.held_scale_downs;
    if (h.scaled_in + h.abandoned > 0)
      out.push(
        `  scale-downs the window held: ${n(h.scaled_in)} ended in a scale-down, ${n(h.abandoned)} were abandoned (the policy answered higher again before the window passed)`,
      );
    if (h.abandoned >= 5 && h.scaled_in === 0)
      out.push(
        '  note: this policy asked to scale in but never did: the window keeps its highest answer, so answering fewer now and then between holds never scales in; answer the lower count on every tick it applies (docs/policies.md, "Common mistakes")',
      );
    if (e.first_error) {
      const f = e.first_error;
      out.push(
        `  policy errors: ${n(e.policy_errors)} (${n(e.distinct_errors)} distinct); first at second ${n(f.first_second)}: ${f.error} (${f.code})`,
      );
      for (const x of e.errors)
        out.push(`    ${n(x.count)}× ${x.error} (${x.code}, first at second ${n(x.first_second)})`);
    }
  }
  return out.join('\n') + '\n';
}

/** The default output: one row per field, one column per policy, aligned. */
export function formatTable(
  trace: Trace,
  scale: number,
  model: ModelParams,
  rows: SimulationSummary[],
): string {
  const fields: Array<[keyof SimulationSummary, string]> = [
    ['instance_hours', 'instance-hours'],
    ['ideal_instance_hours', 'ideal instance-hours'],
    ['slo_violation_seconds', 'SLO-violation seconds'],
    ['dropped_requests', 'dropped requests'],
    ['total_requests', 'total requests'],
    ['p95_ms', 'p95 ms'],
    ['scale_actions', 'scale actions'],
    ['max_replicas', 'max replicas'],
    ['mean_utilization', 'mean utilisation'],
    ['under_provisioning_accuracy', 'θU under-prov. accuracy %'],
    ['over_provisioning_accuracy', 'θO over-prov. accuracy %'],
    ['under_provisioning_timeshare', 'τU under-prov. timeshare %'],
    ['over_provisioning_timeshare', 'τO over-prov. timeshare %'],
    ['decisions', 'decisions'],
    ['policy_errors', 'policy errors'],
  ];
  const table: string[][] = [['', ...rows.map((r) => r.policy)]];
  for (const [key, label] of fields) table.push([label, ...rows.map((r) => fmt(r[key]))]);
  const widths = table[0]!.map((_, c) => Math.max(...table.map((row) => row[c]!.length)));
  const lines = table.map((row) =>
    row
      .map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!)))
      .join('  ')
      .trimEnd(),
  );
  const header =
    `${trace.file}: ${(trace.durationSeconds / 86_400).toFixed(2)} days at ${trace.stepSeconds} s, × ${scale}; ` +
    `capacity ${model.capacity} req/s, service ${model.serviceMs} ms, startup ${model.startupS} s, ` +
    `queue timeout ${model.queueTimeoutS} s, SLO p95 ${model.sloP95Ms} ms\n`;
  return header + lines.join('\n') + '\n';
}

function fmt(v: unknown): string {
  if (typeof v !== 'number') return String(v);
  if (Number.isInteger(v)) return v.toLocaleString('en-US');
  return v.toLocaleString('en-US', { maximumFractionDigits: Math.abs(v) < 10 ? 3 : 1 });
}

/** A one-line progress bar on stderr, redrawn at most every 1 %. */
function progressBar(write: (s: string) => void) {
  let shown = -1;
  return {
    update(fraction: number, label: string) {
      const pct = Math.min(100, Math.floor(fraction * 100));
      if (pct === shown) return;
      shown = pct;
      const filled = Math.round(pct / 4);
      write(
        `\r[${'#'.repeat(filled)}${'-'.repeat(25 - filled)}] ${String(pct).padStart(3)}% ${label.slice(0, 40).padEnd(40)}`,
      );
    },
    done() {
      if (shown >= 0) write(`\r${' '.repeat(80)}\r`);
    },
  };
}

function splitList(s: string | undefined): string[] {
  if (!s) return [];
  return s
    .split(',')
    .map((x) => x.trim())
    .filter((x) => x !== '');
}

function num(
  v: string | undefined,
  flag: string,
  dflt: number,
  o: { min?: number; exclusiveMin?: boolean },
): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n)) throw badArgument(flag, `expected a number, got "${v}"`);
  if (o.min !== undefined && (o.exclusiveMin ? n <= o.min : n < o.min))
    throw badArgument(flag, `must be ${o.exclusiveMin ? '>' : '>='} ${o.min}, got ${v}`);
  return n;
}

function int(v: string, flag: string, dflt: number, o: { min?: number }): number {
  const n = num(v, flag, dflt, o);
  if (!Number.isInteger(n)) throw badArgument(flag, `expected a whole number, got "${v}"`);
  return n;
}

function duration(v: string, flag: string): number {
  try {
    const ms = parseDuration(v);
    if (ms < 1000) throw new RangeError('below 1s');
    return ms;
  } catch {
    throw badArgument(flag, `expected a duration of at least 1s such as 15s or 1m, got "${v}"`);
  }
}

function startTime(v: string): number {
  const ms = /^\d+$/.test(v) ? Number(v) * 1000 : Date.parse(v);
  if (!Number.isFinite(ms)) throw badArgument('--start', `expected an ISO date or epoch seconds, got "${v}"`);
  return ms;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** Registers `simulate`. */
export function register(program: Command): void {
  program
    .command('simulate')
    .description(
      'Replay a request-rate trace through scaling policies and report cost, SLO violations and elasticity',
    )
    .requiredOption('--trace <file.csv>', 'CSV with header t,rps (t: seconds from the start)')
    .option('--scale <k>', 'multiply the trace rates by k (default 1)')
    .option('--policy <spec>', 'FILE.lua or builtin:NAME (params: builtin:NAME?key=value&...)')
    .option(
      '--set <key=value>',
      'a param for --policy or the -c policy (repeatable; value parsed as JSON when it can be)',
      collect,
      [],
    )
    .option('--capacity <rps>', `req/s one instance serves at 100 % CPU (default ${DEFAULT_MODEL.capacity})`)
    .option('--service-ms <ms>', `base latency of a request (default ${DEFAULT_MODEL.serviceMs})`)
    .option('--startup <s>', `seconds from launch to ready (default ${DEFAULT_MODEL.startupS})`)
    .option('--slo-p95-ms <ms>', `p95 latency objective (default ${DEFAULT_MODEL.sloP95Ms})`)
    .option(
      '--queue-timeout <s>',
      `seconds a request may wait before it is dropped (default ${DEFAULT_MODEL.queueTimeoutS})`,
    )
    .option('--min <n>', `fewest instances (default ${DEFAULT_LIMITS.min})`)
    .option('--max <n>', `most instances (default ${DEFAULT_LIMITS.max})`)
    .option('--seed <n>', 'Poisson arrivals from this seed (default: deterministic even spreading)')
    .option(
      '--interval <duration>',
      'decision interval for every policy (default: hpa 15s, kpa 2s, others 1s)',
    )
    .option('--initial <n>', 'ready instances at t=0 (default: enough for the first row at 70 %)')
    .option('--start <iso>', 'wall-clock time of t=0 as policies see it (default 1970-01-01T00:00:00Z)')
    .option('--compare <specs>', 'comma-separated policies to run side by side')
    .option('--json', 'print one JSON object per policy, one per line')
    .option('--report <out.html>', 'write a self-contained HTML report with charts')
    .option(
      '-c, --config <luascale.yaml>',
      "take the policy, params, behaviour, min and max from a service's scaling section",
    )
    .option('--service <name>', 'the service in --config')
    .option(
      '--behavior <json>',
      'scaling behaviour for every policy, as the config\'s scaling.behavior (e.g. \'{"scale_down":{"stabilization":"60s"}}\')',
    )
    .option(
      '--slo <json>',
      'ctx.slo, as the config\'s scaling.slo (e.g. \'{"latency_p95_ms":200,"error_rate":0.01}\')',
    )
    .option(
      '--decisions <out.jsonl>',
      'write every decision (inputs, policy answer, steps, logs, alerts) as JSON Lines',
    )
    .option('--no-progress', 'no progress bar')
    .addHelpText(
      'after',
      '\nExample:\n  luascale simulate --trace nasa.csv --scale 300 --policy builtin:hpa --capacity 100 --startup 30 --slo-p95-ms 250 --json\n' +
        '  luascale simulate --trace nasa.csv --scale 300 --compare builtin:hpa,builtin:kpa,policies/cpu.lua --report out.html',
    )
    .action(async (flags: SimulateFlags) => {
      await runSimulate(flags, {
        out: (s) => process.stdout.write(s),
        err: (s) => process.stderr.write(s),
        tty: process.stderr.isTTY === true,
      });
    });
}
