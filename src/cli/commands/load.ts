/**
 * `luascale load --url URL (--rps N | --pattern P | --trace file.csv [--scale K]) --duration S [--json]`:
 * the built-in open-loop load generator; with `--llm-trace tokens.csv --model M` it replays a token
 * trace as streaming chats against an OpenAI- or Anthropic-compatible endpoint (loadgen/llm-load.ts).
 * Prints a table (or JSON with --json); a progress bar goes to stderr on a TTY only. Exit 0 when
 * the run completed, 2 on a bad argument value, 1 when the trace file cannot be read.
 */
import type { Command } from 'commander';
import { badArgument } from '../bad-argument.js';
import { parseDuration } from '../../core/duration.js';
import { readTrace } from '../../simulator/trace.js';
import { expandTokenTrace, readTokenTrace } from '../../simulator/token-trace.js';
import type { LoadOptions } from '../../loadgen/load-generator.js';
import type { LlmLoadOptions } from '../../loadgen/llm-load.js';
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
  llmTrace?: string;
  api?: string;
  model?: string;
  seed?: string;
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

/** The URL and the one load source; every mistake is one LS_ERR_CLI_BAD_ARGUMENT line. */
function checkTarget(args: LoadArgs): URL {
  if (!args.url) usage('--url', 'required (e.g. --url http://127.0.0.1:8080/)');
  let url: URL;
  try {
    url = new URL(args.url);
  } catch {
    return usage('--url', `not a URL: "${args.url}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    usage('--url', `expected http:// or https://, got "${args.url}"`);
  const sources = (['rps', 'pattern', 'trace', 'llmTrace'] as const).filter((k) => args[k] !== undefined);
  if (sources.length !== 1) {
    const flag = (k: string) => `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
    usage(
      '--rps/--pattern/--trace/--llm-trace',
      `give exactly one of --rps N, --pattern P, --trace file.csv or --llm-trace tokens.csv${sources.length ? ` (got ${sources.map(flag).join(' and ')})` : ''}`,
    );
  }
  if (args.scale !== undefined && args.trace === undefined && args.llmTrace === undefined)
    usage('--scale', 'applies to --trace and --llm-trace only');
  for (const k of ['api', 'model', 'seed'] as const)
    if (args[k] !== undefined && args.llmTrace === undefined) usage(`--${k}`, 'applies to --llm-trace only');
  return url;
}

/** Validates the arguments of a rate run (--rps, --pattern, --trace) into LoadOptions. */
export function loadOptionsFromArgs(args: LoadArgs): LoadOptions {
  const url = checkTarget(args);
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
      const scale = scaleOf(args);
      const trace = readTrace(args.trace!);
      pattern = traceRate(trace, scale);
      defaultDurationMs = trace.durationSeconds * 1000;
    }
  } catch (err) {
    if (err instanceof PatternError) usage('--pattern', err.message);
    throw err;
  }
  const headers = headersOf(args);
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

function scaleOf(args: LoadArgs): number {
  const scale = args.scale === undefined ? 1 : Number(args.scale);
  if (args.scale !== undefined && !(/^\s*(\d+\.?\d*|\.\d+)\s*$/.test(args.scale) && Number.isFinite(scale)))
    usage('--scale', `expected a number >= 0, got "${args.scale}"`);
  return scale;
}

function headersOf(args: LoadArgs): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const h of args.header ?? []) {
    const colon = h.indexOf(':');
    if (colon <= 0) usage('--header', `expected "Name: value", got "${h}"`);
    headers[h.slice(0, colon).trim().toLowerCase()] = h.slice(colon + 1).trim();
  }
  return headers;
}

/**
 * Validates the arguments of a token-trace replay (--llm-trace) into LlmLoadOptions. The URL is
 * the endpoint (`…/chat/completions` is OpenAI's, `…/messages` Anthropic's) or a base URL, to which
 * `/v1/chat/completions` (or `/v1/messages` with `--api anthropic`) is appended, `/v1` only once.
 */
export function llmLoadOptionsFromArgs(args: LoadArgs): LlmLoadOptions {
  const url = checkTarget(args);
  if (args.method !== undefined) usage('--method', 'does not apply to --llm-trace (its requests are POSTs)');
  if (args.timeline) usage('--timeline', 'applies to --rps, --pattern and --trace only');
  if (!args.model) usage('--model', 'required with --llm-trace: the model name the endpoint serves');
  const api = args.api === undefined ? undefined : args.api.trim().toLowerCase();
  if (api !== undefined && api !== 'openai' && api !== 'anthropic')
    usage('--api', `expected openai or anthropic, got "${args.api}"`);
  const path = url.pathname.replace(/\/+$/, '');
  const byPath = path.endsWith('/chat/completions')
    ? 'openai'
    : path.endsWith('/messages')
      ? 'anthropic'
      : undefined;
  if (byPath !== undefined && api !== undefined && api !== byPath)
    usage('--api', `${api} does not match the endpoint ${url.pathname} (a ${byPath} endpoint)`);
  const chosen = byPath ?? api ?? 'openai';
  // a base URL, with or without its /v1 (the way OpenAI clients spell their base URL)
  const v1 = path.endsWith('/v1') ? path : `${path}/v1`;
  if (byPath === undefined) url.pathname = `${v1}${chosen === 'openai' ? '/chat/completions' : '/messages'}`;
  if (args.seed !== undefined && !/^\d+$/.test(args.seed.trim()))
    usage('--seed', `expected a whole number, got "${args.seed}"`);
  const trace = readTokenTrace(args.llmTrace!);
  const requests = expandTokenTrace(trace, { scale: scaleOf(args), seed: Number(args.seed ?? 0) });
  const traceMs = (requests.atMs.at(-1) ?? 0) + 1;
  return {
    url: url.href,
    api: chosen,
    model: args.model,
    requests,
    durationMs: args.duration === undefined ? traceMs : duration('--duration', args.duration),
    maxRequests: positiveInt('--max-requests', args.maxRequests, 1_000_000),
    maxInFlight: positiveInt('--max-in-flight', args.maxInFlight, 1024),
    connections: positiveInt('--connections', args.connections, 128),
    timeoutMs: args.timeout === undefined ? 300_000 : duration('--timeout', args.timeout),
    headers: headersOf(args),
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
    .option(
      '--llm-trace <file.csv>',
      'replay a token trace (t,context_tokens,generated_tokens; the simulator reads the same) as streaming chats; needs --model; see docs/load.md',
    )
    .option('--model <name>', 'with --llm-trace: the model to ask for')
    .option('--api <api>', 'with --llm-trace: openai or anthropic (default: from the URL path, else openai)')
    .option('--seed <n>', 'with --llm-trace --scale: places the copies of each request (default 0)')
    .option('--scale <k>', 'multiply the trace rates by k (--llm-trace: each request stands for k)')
    .option('--duration <d>', 'how long to send: 30, 30s, 2m (default 10s; a trace: its length)')
    .option('--max-requests <n>', 'stop after this many requests (default 1000000)')
    .option('--max-in-flight <n>', 'outstanding requests at most; later arrivals are dropped (default 1024)')
    .option('--connections <n>', 'sockets to the target (default 128)')
    .option('--timeout <d>', 'per-request timeout (default 10s; --llm-trace: 300s, to the last token)')
    .option('--method <m>', 'HTTP method (default GET)')
    .option('-H, --header <h>', 'request header "Name: value" (repeatable)', collect)
    .option('--timeline', 'also print the per-second timeline')
    .option('--json', 'print the summary (with the timeline) as JSON')
    .addHelpText(
      'after',
      '\nExit codes: 0 the run completed, 1 the trace file cannot be read, 2 a bad argument value.\n' +
        'Example: luascale load --url http://127.0.0.1:8080/ --pattern step:10,40@30s --duration 60s\n' +
        "Example: luascale load --url http://127.0.0.1:8080/v1/chat/completions --llm-trace tokens.csv --model m -H 'authorization: Bearer KEY'",
    )
    .action((args: LoadArgs) => loadCommand(args));
}

/** Where `luascale load` writes; tests pass their own (the test runner owns process.stdout). */
export interface LoadIo {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown; isTTY?: boolean };
}

/** A run's hooks: stop on Ctrl-C, a progress line on a TTY. */
interface RunHooks<P> {
  signal: AbortSignal;
  onProgress?: (p: P) => void;
}

/** Runs a load (Ctrl-C stops sending; a progress line on a TTY), then prints the table or JSON. */
async function runAndPrint<P, S>(
  args: LoadArgs,
  io: LoadIo,
  run: (hooks: RunHooks<P>) => Promise<S>,
  render: { progress(p: P): string; table(s: S): string },
): Promise<void> {
  const abort = new AbortController();
  const onSigint = () => abort.abort();
  process.once('SIGINT', onSigint);
  const tty = !args.json && io.stderr.isTTY === true;
  try {
    const summary = await run({
      signal: abort.signal,
      ...(tty ? { onProgress: (p: P) => io.stderr.write(`\r${render.progress(p)}\x1b[K`) } : {}),
    });
    if (tty) io.stderr.write('\r\x1b[K');
    io.stdout.write(args.json ? `${JSON.stringify(summary)}\n` : render.table(summary));
  } finally {
    process.removeListener('SIGINT', onSigint);
  }
}

/** The body of `luascale load`: validate, run, print. */
export async function loadCommand(
  args: LoadArgs,
  io: LoadIo = { stdout: process.stdout, stderr: process.stderr },
): Promise<void> {
  // The generators (undici, histograms, the tokenizer's data) load when a run starts, not when the program is built.
  if (args.llmTrace !== undefined) {
    const options = llmLoadOptionsFromArgs(args);
    const [{ runLlmLoad }, { formatLlmProgress, formatLlmSummary }] = await Promise.all([
      import('../../loadgen/llm-load.js'),
      import('../../loadgen/format-llm-report.js'),
    ]);
    return runAndPrint(args, io, (hooks) => runLlmLoad({ ...options, ...hooks }), {
      progress: formatLlmProgress,
      table: formatLlmSummary,
    });
  }
  const options = loadOptionsFromArgs(args);
  const [{ runLoad }, { formatProgress, formatSummary, formatTimeline }] = await Promise.all([
    import('../../loadgen/load-generator.js'),
    import('../../loadgen/format-report.js'),
  ]);
  return runAndPrint(args, io, (hooks) => runLoad({ ...options, ...hooks }), {
    progress: formatProgress,
    table: (s) => formatSummary(s) + (args.timeline ? `\n${formatTimeline(s.timeline)}` : ''),
  });
}
