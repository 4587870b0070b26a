/**
 * `luascale load --url URL (--rps N | --pattern P | --trace file.csv [--scale K]) --duration S [--json]`:
 * the built-in open-loop load generator. Prints a table (or JSON with --json); a progress bar goes
 * to stderr on a TTY only. Exit 0 when the run completed, 2 on a bad argument value, 1 when the
 * trace file cannot be read.
 */
import type { Command } from 'commander';
import { badArgument } from '../bad-argument.js';
import { parseDuration } from '../../core/duration.js';
import { readTrace } from '../../simulator/trace.js';
import type { LoadOptions } from '../../loadgen/load-generator.js';
import {
  constantRate,
  parsePattern,
  PatternError,
  traceRate,
  type RatePattern,
} from '../../loadgen/rate-pattern.js';

/** The command line options as commander hands them over (all strings). */
export interface LoadArgs {
  url?: string;
  rps?: string;
  pattern?: string;
  trace?: string;
  scale?: string;
  duration?: string;
  maxRequests?: string;
  maxInFlight?: string;
  connections?: string;
  timeout?: string;
  method?: string;
  header?: string[];
  json?: boolean;
  timeline?: boolean;
}

/** A bad argument value (exit 2): `{arg}: {reason}`. */
function usage(arg: string, reason: string): never {
  throw badArgument(arg, reason);
}

function positiveInt(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < 1)
    usage(name, `expected a whole number >= 1, got "${value}"`);
  return n;
}

function duration(name: string, value: string): number {
  try {
    const ms = parseDuration(value);
    if (ms <= 0) throw new RangeError('zero');
    return ms;
  } catch {
    return usage(name, `expected a duration > 0 such as 30s, 2m or 500ms, got "${value}"`);
  }
}

/** Validates the arguments into LoadOptions; every mistake is one LS_ERR_CLI_BAD_ARGUMENT line. */
export function loadOptionsFromArgs(args: LoadArgs): LoadOptions {
  if (!args.url) usage('--url', 'required (e.g. --url http://127.0.0.1:8080/)');
  let url: URL;
  try {
    url = new URL(args.url);
  } catch {
    return usage('--url', `not a URL: "${args.url}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    usage('--url', `expected http:// or https://, got "${args.url}"`);
  const sources = (['rps', 'pattern', 'trace'] as const).filter((k) => args[k] !== undefined);
  if (sources.length !== 1) {
    usage(
      '--rps/--pattern/--trace',
      `give exactly one of --rps N, --pattern P or --trace file.csv${sources.length ? ` (got ${sources.map((s) => `--${s}`).join(' and ')})` : ''}`,
    );
  }
  if (args.scale !== undefined && args.trace === undefined) usage('--scale', 'applies to --trace only');
  let pattern: RatePattern;
  let defaultDurationMs = 10_000;
  try {
    if (args.rps !== undefined) {
      if (!/^\s*(\d+\.?\d*|\.\d+)\s*$/.test(args.rps))
        usage('--rps', `expected a number >= 0, got "${args.rps}"`);
      pattern = constantRate(Number(args.rps));
    } else if (args.pattern !== undefined) {
      pattern = parsePattern(args.pattern);
    } else {
      const scale = args.scale === undefined ? 1 : Number(args.scale);
      if (
        args.scale !== undefined &&
        !(/^\s*(\d+\.?\d*|\.\d+)\s*$/.test(args.scale) && Number.isFinite(scale))
      ) {
        usage('--scale', `expected a number >= 0, got "${args.scale}"`);
      }
      const trace = readTrace(args.trace!);
      pattern = traceRate(trace, scale);
      defaultDurationMs = trace.durationSeconds * 1000;
    }
  } catch (err) {
    if (err instanceof PatternError) usage('--pattern', err.message);
    throw err;
  }
  const headers: Record<string, string> = {};
  for (const h of args.header ?? []) {
    const colon = h.indexOf(':');
    if (colon <= 0) usage('--header', `expected "Name: value", got "${h}"`);
    headers[h.slice(0, colon).trim().toLowerCase()] = h.slice(colon + 1).trim();
  }
  const method = (args.method ?? 'GET').toUpperCase();
  if (!/^[A-Z]+$/.test(method))
    usage('--method', `expected an HTTP method such as GET, got "${args.method}"`);
  return {
    url: url.href,
    pattern,
    durationMs: args.duration === undefined ? defaultDurationMs : duration('--duration', args.duration),
    maxRequests: positiveInt('--max-requests', args.maxRequests, 1_000_000),
    maxInFlight: positiveInt('--max-in-flight', args.maxInFlight, 1024),
    connections: positiveInt('--connections', args.connections, 128),
    timeoutMs: args.timeout === undefined ? 10_000 : duration('--timeout', args.timeout),
    method,
    headers,
  };
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

/** Registers `load`. */
export function register(program: Command): void {
  program
    .command('load')
    .description(
      'Send an open-loop load (constant, stepped, ramped or from a trace) and summarise the responses',
    )
    .option('--url <url>', 'target URL, e.g. http://127.0.0.1:8080/work?ms=20')
    .option('--rps <n>', 'constant requests per second')
    .option('--pattern <p>', 'rate pattern: N | step:10,40@30s | ramp:0,100@60s (see docs/load.md)')
    .option(
      '--trace <file.csv>',
      'replay a trace: CSV with header t,rps (t = seconds from the start); see docs/load.md',
    )
    .option('--scale <k>', 'multiply the trace rates by k')
    .option('--duration <d>', 'how long to send: 30, 30s, 2m (default 10s; a trace: its length)')
    .option('--max-requests <n>', 'stop after this many requests (default 1000000)')
    .option('--max-in-flight <n>', 'outstanding requests at most; later arrivals are dropped (default 1024)')
    .option('--connections <n>', 'sockets to the target (default 128)')
    .option('--timeout <d>', 'per-request timeout (default 10s)')
    .option('--method <m>', 'HTTP method (default GET)')
    .option('-H, --header <h>', 'request header "Name: value" (repeatable)', collect)
    .option('--timeline', 'also print the per-second timeline')
    .option('--json', 'print the summary (with the timeline) as JSON')
    .addHelpText(
      'after',
      '\nExit codes: 0 the run completed, 1 the trace file cannot be read, 2 a bad argument value.\n' +
        'Example: luascale load --url http://127.0.0.1:8080/ --pattern step:10,40@30s --duration 60s',
    )
    .action((args: LoadArgs) => loadCommand(args));
}

/** Where `luascale load` writes; tests pass their own (the test runner owns process.stdout). */
export interface LoadIo {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown; isTTY?: boolean };
}

/** The body of `luascale load`: validate, run (Ctrl-C stops sending), print the table or JSON. */
export async function loadCommand(
  args: LoadArgs,
  io: LoadIo = { stdout: process.stdout, stderr: process.stderr },
): Promise<void> {
  const options = loadOptionsFromArgs(args);
  // The generator (undici, histograms) loads when a run starts, not when the program is built.
  const [{ runLoad }, { formatProgress, formatSummary, formatTimeline }] = await Promise.all([
    import('../../loadgen/load-generator.js'),
    import('../../loadgen/format-report.js'),
  ]);
  const abort = new AbortController();
  const onSigint = () => abort.abort();
  process.once('SIGINT', onSigint);
  const tty = !args.json && io.stderr.isTTY === true;
  try {
    const summary = await runLoad({
      ...options,
      signal: abort.signal,
      ...(tty ? { onProgress: (p) => io.stderr.write(`\r${formatProgress(p)}\x1b[K`) } : {}),
    });
    if (tty) io.stderr.write('\r\x1b[K');
    if (args.json) io.stdout.write(`${JSON.stringify(summary)}\n`);
    else
      io.stdout.write(
        formatSummary(summary) + (args.timeline ? `\n${formatTimeline(summary.timeline)}` : ''),
      );
  } finally {
    process.removeListener('SIGINT', onSigint);
  }
}
