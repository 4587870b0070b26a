/**
 * `luascale demo --llm`: the AI demo. `llm-sim` model servers run as local processes behind the
 * gateway's front door (an AI service, `llm:`); a load step of streaming chat requests saturates
 * the first one, requests wait in the gateway's queue (each instance is given what its engine runs
 * at once), and a Lua policy on the queues (examples/policies/llm-queue.lua: the gateway's queue
 * plus the engines' `llm.waiting` where read) scales the service up and back down. Progress lines
 * go to `log`; the summary has requests, errors, TTFT, replicas and tokens.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../config/load-config.js';
import { startApp } from '../../app/luascale-app.js';
import type { AdminEvent } from '../../admin/admin-server.js';
import { PACKAGE_ROOT } from './init.js';
import { streamChat, type ChatResult } from './demo-llm-client.js';

/** The AI demo's knobs. */
export interface LlmDemoOptions {
  durationS: number;
  /** Streaming chat requests per second before and after the step; the step is 4×. */
  baseRps: number;
  /** llm-sim's --time-scale: 0.5 runs the model servers twice as fast as a 7–8B model on an H100. */
  timeScale: number;
  log: (line: string) => void;
}

/** The summary `demo --llm --json` prints. */
export interface LlmDemoSummary {
  requests: number;
  ok: number;
  errors: number;
  ttft_ms: { p50: number; p95: number };
  replicas: { min: number; max: number; final: number };
  tokens: { in: number; out: number };
  events: Array<Record<string, unknown>>;
}

/** llm-sim runs at most this many sequences at once; the gateway gives each instance as many. */
const MAX_SEQS = 4;

/** The AI demo's config (YAML, through the same loader as a user's file). */
export function llmDemoConfig(dir: string, opts: Pick<LlmDemoOptions, 'timeScale'>): string {
  const sim = [
    process.execPath,
    join(PACKAGE_ROOT, 'bin/luascale.js'),
    'llm-sim',
    '--time-scale',
    String(opts.timeScale),
    '--max-seqs',
    String(MAX_SEQS),
    '--output-tokens',
    '32-96',
  ];
  return `
gateway: { listen: "127.0.0.1:0", access_log: "off", drain_timeout: 10s }
admin: { listen: "127.0.0.1:0" }
store: { sqlite: ${JSON.stringify(join(dir, 'demo.db'))} }
services:
  chat:
    routes: [{ path_prefix: "/v1/" }]
    provider:
      process:
        command: [sh, -c, ${JSON.stringify(`exec ${sim.map((a) => JSON.stringify(a)).join(' ')} --port "$PORT"`)}]
        health_path: /health
        log_dir: ${JSON.stringify(join(dir, 'logs'))}
        stop_grace: 10s
    scaling:
      min: 1
      max: 4
      interval: 1s
      window: 2s
      policy: ${JSON.stringify(join(PACKAGE_ROOT, 'examples/policies/llm-queue.lua'))}
      params: { target: ${MAX_SEQS} }
      behavior:
        scale_up: { stabilization: 0s }
        scale_down: { stabilization: 8s, max_step: { pods: 1, period: 4s } }
        panic: { enabled: false }
    traffic:
      concurrency: { per_instance: ${MAX_SEQS} }
      queue: { max: 1000, timeout: 60s }
    llm:
      models:
        llm-sim:
          backends: [{ instances: { format: openai } }]
          ttft_timeout: 30s
          max_tokens_default: 128
`;
}

/** Runs the AI demo and resolves with its summary. */
export async function runLlmDemo(opts: LlmDemoOptions): Promise<LlmDemoSummary> {
  const dir = mkdtempSync(join(tmpdir(), 'luascale-demo-llm-'));
  const file = join(dir, 'luascale.yaml');
  const text = llmDemoConfig(dir, opts);
  writeFileSync(file, text);
  const started = Date.now();
  const t = () => +((Date.now() - started) / 1000).toFixed(1);
  const events: LlmDemoSummary['events'] = [];
  let ready!: () => void;
  const firstReady = new Promise<void>((r) => (ready = r));
  const app = await startApp(
    { config: parseConfig(text, file), file, baseDir: dir },
    {
      onEvent: (e: AdminEvent) => {
        const d = e.data as Record<string, any>;
        if (e.type === 'decision' && d.replicas !== d.current) {
          events.push({ t: t(), type: 'decision', from: d.current, to: d.replicas, message: d.message });
          opts.log(`t=${t()}s  decision ${d.current} → ${d.replicas}  ${d.reason}: ${d.message}`);
        } else if (e.type === 'instance' && (d.state === 'ready' || d.state === 'stopped')) {
          events.push({ t: t(), type: 'instance', id: d.id, state: d.state });
          opts.log(`t=${t()}s  instance ${d.id} ${d.state}`);
          if (d.state === 'ready') ready();
        }
      },
    },
  );
  try {
    const controller = app.controllers.get('chat')!;
    opts.log(
      `gateway ${app.gatewayUrl}  ·  admin API ${app.adminUrl}  ·  policy ${controller.spec.policy.name}`,
    );
    if (!app.gateway.instances('chat').some((i) => i.state === 'ready')) await firstReady;
    const d = opts.durationS;
    const stepAt = Math.round(d * 0.15);
    const calmAt = Math.round(d * 0.6);
    opts.log(
      `load: ${opts.baseRps} streaming chats/s, ${opts.baseRps * 4}/s from t+${stepAt}s, ${opts.baseRps}/s from t+${calmAt}s, for ${d}s`,
    );
    let minR = Infinity;
    let maxR = 0;
    const sample = setInterval(() => {
      const r = controller.status().replicas;
      minR = Math.min(minR, r.ready);
      maxR = Math.max(maxR, r.ready + r.starting);
    }, 250);
    const results = await stepLoad({
      url: app.gatewayUrl,
      durationS: d,
      rateAt: (s) => (s >= stepAt && s < calmAt ? opts.baseRps * 4 : opts.baseRps),
      onSecond: (s, done) => {
        if (s % 5 !== 4) return;
        const st = controller.status();
        const last = done.slice(-50).filter((r) => r.ok);
        opts.log(
          `t=${t()}s  done ${done.length}, errors ${done.filter((r) => !r.ok).length}  ttft p95 ${pct(
            last.map((r) => r.ttftMs),
            0.95,
          ).toFixed(
            0,
          )} ms  queue ${st.lastObservation?.queue ?? 0}  replicas ${st.replicas.ready} ready${st.replicas.starting ? ` + ${st.replicas.starting} starting` : ''}`,
        );
      },
    });
    clearInterval(sample);
    const final = controller.status().replicas.ready;
    const ok = results.filter((r) => r.ok);
    return {
      requests: results.length,
      ok: ok.length,
      errors: results.length - ok.length,
      ttft_ms: {
        p50: pct(
          ok.map((r) => r.ttftMs),
          0.5,
        ),
        p95: pct(
          ok.map((r) => r.ttftMs),
          0.95,
        ),
      },
      replicas: { min: Number.isFinite(minR) ? minR : final, max: maxR, final },
      tokens: {
        in: ok.reduce((s, r) => s + r.tokensIn, 0),
        out: ok.reduce((s, r) => s + r.tokensOut, 0),
      },
      events,
    };
  } finally {
    await app.close({ graceMs: 10_000 });
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Open-loop arrivals at `rateAt(second)` per second for `durationS` (a tick every 100 ms adds
 * rate/10, carrying fractions), each a streaming chat; resolves when every request has ended.
 */
async function stepLoad(o: {
  url: string;
  durationS: number;
  rateAt: (s: number) => number;
  onSecond: (s: number, done: ChatResult[]) => void;
}): Promise<ChatResult[]> {
  const done: ChatResult[] = [];
  const pending: Promise<void>[] = [];
  let due = 0;
  let n = 0;
  const t0 = Date.now();
  await new Promise<void>((resolve) => {
    let lastSecond = -1;
    const timer = setInterval(() => {
      const s = Math.floor((Date.now() - t0) / 1000);
      if (s >= o.durationS) {
        clearInterval(timer);
        return resolve();
      }
      if (s !== lastSecond) {
        if (lastSecond >= 0) o.onSecond(lastSecond, done);
        lastSecond = s;
      }
      due += o.rateAt(s) / 10;
      for (; due >= 1; due--) pending.push(streamChat(o.url, n++).then((r) => void done.push(r)));
    }, 100);
  });
  await Promise.all(pending);
  return done;
}

/** The q-quantile (nearest rank) of `xs`; 0 for none. */
function pct(xs: number[], q: number): number {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return +s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)]!.toFixed(1);
}
