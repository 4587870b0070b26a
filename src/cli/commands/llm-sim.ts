/**
 * `luascale llm-sim`: a deterministic OpenAI- (and Anthropic-) compatible model server for tests,
 * demos and benchmarks (src/llm-sim/, docs/llm-sim.md). Prints the bound URL on stdout, then runs
 * until SIGTERM or Ctrl-C, which close it and exit 0. A bad flag value exits 2.
 */
import type { Command } from 'commander';
import { badArgument } from '../bad-argument.js';
import { LuascaleError } from '../../core/errors.js';
import { parseDuration } from '../../core/duration.js';
// Not the llm-sim index: its server and tokenizer (gpt-tokenizer's tables) load only when the command
// runs, so every other command (`up` above all) starts without them.
import { DEFAULT_LLM_SIM_OPTIONS, type LlmSimOptions } from '../../llm-sim/llm-sim-options.js';
import { FAULT_SYNTAX, parseFault } from '../../llm-sim/faults.js';

/** The command line options as commander hands them over. */
export interface LlmSimArgs {
  host?: string;
  port?: string;
  model?: string[];
  api?: string;
  seed?: string;
  mode?: string;
  outputTokens?: string;
  maxSeqs?: string;
  maxWaiting?: string;
  reasoningTokens?: string;
  embeddingDims?: string;
  maxModelLen?: string;
  kvBlocks?: string;
  blockSize?: string;
  prefillOverhead?: string;
  prefillPerToken?: string;
  ttft?: string;
  ttftStdDev?: string;
  itl?: string;
  itlStdDev?: string;
  timeFactorUnderLoad?: string;
  timeScale?: string;
  metricNames?: string;
  fault?: string;
  faultRate?: string;
  apiKey?: string;
  startupDelay?: string;
}

function int(name: string, value: string | undefined, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min)
    throw badArgument(name, `expected a whole number >= ${min}, got "${value}"`);
  return n;
}

/** The values a number flag takes: `ok` says whether `n` is one, `expected` says which in words. */
interface NumberRange {
  ok: (n: number) => boolean;
  expected: string;
}

function num(
  name: string,
  value: string | undefined,
  fallback: number,
  { ok, expected }: NumberRange,
): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || !ok(n))
    throw badArgument(name, `expected ${expected}, got "${value}"`);
  return n;
}

function ms(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  try {
    return parseDuration(value);
  } catch {
    throw badArgument(name, `expected a duration such as 12ms, 0.2ms or 1s, got "${value}"`);
  }
}

function oneOf<T extends string>(
  name: string,
  value: string | undefined,
  fallback: T,
  allowed: readonly T[],
): T {
  if (value === undefined) return fallback;
  if (!(allowed as readonly string[]).includes(value))
    throw badArgument(name, `expected one of ${allowed.join(', ')}, got "${value}"`);
  return value as T;
}

/** Validates the flags into options; every mistake is one LS_ERR_CLI_BAD_ARGUMENT line (exit 2). */
export function llmSimOptionsFromArgs(args: LlmSimArgs): LlmSimOptions {
  const d = DEFAULT_LLM_SIM_OPTIONS;
  let outputTokens = d.outputTokens;
  if (args.outputTokens !== undefined) {
    const m = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(args.outputTokens);
    const min = Number(m?.[1]);
    const max = m?.[2] === undefined ? min : Number(m[2]);
    if (!m || min < 1 || max < min)
      throw badArgument(
        '--output-tokens',
        `expected N or MIN-MAX with 1 <= MIN <= MAX, got "${args.outputTokens}"`,
      );
    outputTokens = { min, max };
  }
  let fault: LlmSimOptions['fault'];
  try {
    fault = args.fault === undefined ? undefined : parseFault(args.fault);
  } catch (err) {
    throw badArgument('--fault', (err as Error).message);
  }
  const models = args.model && args.model.length > 0 ? args.model : d.models;
  return {
    host: args.host ?? d.host,
    port: int('--port', args.port, d.port, 0),
    models,
    api: oneOf('--api', args.api, d.api, ['openai', 'anthropic', 'both'] as const),
    seed: int('--seed', args.seed, d.seed, 0),
    mode: oneOf('--mode', args.mode, d.mode, ['random', 'echo'] as const),
    outputTokens,
    maxNumSeqs: int('--max-seqs', args.maxSeqs, d.maxNumSeqs, 1),
    maxWaiting: int('--max-waiting', args.maxWaiting, d.maxWaiting, 0),
    reasoningTokens: int('--reasoning-tokens', args.reasoningTokens, d.reasoningTokens, 0),
    embeddingDims: int('--embedding-dims', args.embeddingDims, d.embeddingDims, 1),
    maxModelLen: int('--max-model-len', args.maxModelLen, d.maxModelLen, 2),
    kvBlocks: int('--kv-blocks', args.kvBlocks, d.kvBlocks, 1),
    blockSize: int('--block-size', args.blockSize, d.blockSize, 1),
    prefillOverheadMs: ms('--prefill-overhead', args.prefillOverhead, d.prefillOverheadMs),
    prefillPerTokenMs: ms('--prefill-per-token', args.prefillPerToken, d.prefillPerTokenMs),
    ttftMs: ms('--ttft', args.ttft, d.ttftMs),
    ttftStdDevMs: ms('--ttft-std-dev', args.ttftStdDev, d.ttftStdDevMs),
    itlMs: ms('--itl', args.itl, d.itlMs),
    itlStdDevMs: ms('--itl-std-dev', args.itlStdDev, d.itlStdDevMs),
    timeFactorUnderLoad: num('--time-factor-under-load', args.timeFactorUnderLoad, d.timeFactorUnderLoad, {
      ok: (n) => n >= 1,
      expected: 'a number >= 1',
    }),
    timeScale: num('--time-scale', args.timeScale, d.timeScale, {
      ok: (n) => n > 0,
      expected: 'a number > 0',
    }),
    metricNames: oneOf('--metric-names', args.metricNames, d.metricNames, [
      'vllm',
      'legacy',
      'llamacpp',
    ] as const),
    fault,
    faultRate: num('--fault-rate', args.faultRate, d.faultRate, {
      ok: (n) => n >= 0 && n <= 1,
      expected: 'a number from 0 to 1',
    }),
    apiKey: args.apiKey ?? process.env.LLM_SIM_API_KEY ?? undefined,
  };
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

/** Registers `llm-sim`. */
export function register(program: Command): void {
  const d = DEFAULT_LLM_SIM_OPTIONS;
  program
    .command('llm-sim')
    .description(
      'Run a deterministic OpenAI/Anthropic-compatible model server (timing, queue, KV cache and faults modelled on llm-d-inference-sim)',
    )
    .option('--host <host>', `address to listen on (default ${d.host})`)
    .option('--port <n>', `port; 0 picks a free one (default ${d.port})`)
    .option(
      '--model <name>',
      `a served model name, repeatable; the first names the metrics (default ${d.models[0]})`,
      collect,
    )
    .option(
      '--api <api>',
      'openai (/v1/chat/completions, /v1/completions), anthropic (/v1/messages) or both (default openai)',
    )
    .option('--seed <n>', 'with the prompt, fixes the output text and the jitter (default 0)')
    .option('--mode <mode>', 'random: invented words; echo: repeat the last message (default random)')
    .option(
      '--output-tokens <n|min-max>',
      `natural completion length in random mode, drawn per prompt (default ${d.outputTokens.min}-${d.outputTokens.max}); max_tokens cuts it with finish_reason length`,
    )
    .option(
      '--reasoning-tokens <n>',
      'the first n tokens of a chat answer are reasoning: OpenAI reasoning_content and reasoning_tokens; Anthropic thinking blocks, only when the request enables thinking, within its budget_tokens (default 0)',
    )
    .option(
      '--embedding-dims <n>',
      `the length of /v1/embeddings vectors; a request's dimensions may ask for fewer (default ${d.embeddingDims})`,
    )
    .option('--max-seqs <n>', `sequences running at once, vLLM --max-num-seqs (default ${d.maxNumSeqs})`)
    .option('--max-waiting <n>', `waiting requests at most; beyond them 429 (default ${d.maxWaiting})`)
    .option(
      '--max-model-len <n>',
      `prompt + output tokens at most; beyond: 400 context_length_exceeded (default ${d.maxModelLen})`,
    )
    .option('--kv-blocks <n>', `KV cache size in blocks (default ${d.kvBlocks})`)
    .option(
      '--block-size <n>',
      `tokens per KV block; prefix reuse is per full block (default ${d.blockSize})`,
    )
    .option('--prefill-overhead <d>', `fixed prefill time (default ${d.prefillOverheadMs}ms)`)
    .option(
      '--prefill-per-token <d>',
      `prefill time per uncached prompt token (default ${d.prefillPerTokenMs}ms)`,
    )
    .option('--ttft <d>', 'a constant time to first token instead of the prefill formula (default off)')
    .option(
      '--ttft-std-dev <d>',
      'prefill jitter: standard deviation, capped at 30% of the mean, clamped to ±70% (default 0)',
    )
    .option('--itl <d>', `inter-token latency (default ${d.itlMs}ms)`)
    .option('--itl-std-dev <d>', 'inter-token jitter, as --ttft-std-dev (default 0)')
    .option(
      '--time-factor-under-load <f>',
      'slowdown at --max-seqs running, linear from 1 at one sequence (default 1)',
    )
    .option('--time-scale <f>', 'real time per model time: 0.01 runs 100x faster (default 1)')
    .option(
      '--startup-delay <d>',
      'a cold start: nothing listens until this long (times --time-scale) after the process started, as a model server loading its weights (default 0)',
    )
    .option(
      '--metric-names <names>',
      'vllm (kv_cache_usage_perc …), legacy (gpu_cache_usage_perc …) or llamacpp (default vllm)',
    )
    .option('--fault <spec>', `inject a fault into every request: ${FAULT_SYNTAX}`)
    .option('--fault-rate <p>', 'the share of requests that get --fault, drawn from --seed (default 1)')
    .option(
      '--api-key <key>',
      'require this key (Authorization: Bearer or x-api-key), else 401 (default: none; env LLM_SIM_API_KEY)',
    )
    .addHelpText(
      'after',
      '\nDurations: 12ms, 0.2ms, 1s (a bare number is seconds). Per request, the header\n' +
        'x-llm-sim-fault: SPEC injects a fault (or `none` turns --fault off).\n' +
        'Endpoints: POST /v1/chat/completions, /v1/completions, /v1/messages (--api anthropic|both);\n' +
        'GET /v1/models, /health, /metrics.\n' +
        'Prints the bound URL on stdout. SIGTERM or Ctrl-C stop it (exit 0); a bad flag value exits 2.\n' +
        'Example: luascale llm-sim --port 0 --time-scale 0.01 --max-seqs 8 --fault cut:5 --fault-rate 0.1',
    )
    .action((args: LlmSimArgs) => llmSimCommand(args));
}

/** The body of `luascale llm-sim`: listen, print the URL, wait for a signal. */
export async function llmSimCommand(
  args: LlmSimArgs,
  stdout: { write(text: string): unknown } = process.stdout,
): Promise<void> {
  const options = llmSimOptionsFromArgs(args);
  // A model server loads its weights before it listens: nothing answers (connection refused) until
  // then. Counted from the process start (performance.now()), so node's own boot is part of it.
  const delayMs = ms('--startup-delay', args.startupDelay, 0) * options.timeScale - performance.now();
  if (delayMs > 0 && !(await startupDelay(delayMs))) return;
  const { startLlmSim } = await import('../../llm-sim/llm-sim-server.js');
  let sim;
  try {
    sim = await startLlmSim(options);
  } catch (err) {
    throw new LuascaleError('LS_ERR_CLI_USAGE', {
      reason: `llm-sim: cannot listen on ${options.host}:${options.port}: ${(err as Error).message}`,
    });
  }
  stdout.write(`${sim.url}\n`);
  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      void sim.close().then(resolve);
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
}

/** Waits `ms` of real time; false when SIGTERM or Ctrl-C came first (then the command just ends). */
function startupDelay(ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const done = (ok: boolean) => () => {
      clearTimeout(timer);
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      resolve(ok);
    };
    const stop = done(false);
    const timer = setTimeout(done(true), ms);
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
}
