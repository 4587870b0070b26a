/**
 * The body of `luascale demo` without --llm (demo.ts registers the command and loads this module when
 * it runs): the app, the gateway and the load generator load only then.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LuascaleError } from '../../core/errors.js';
import { parseConfig } from '../../config/load-config.js';
import { startApp } from '../../app/luascale-app.js';
import type { AdminEvent } from '../../admin/admin-server.js';
import { runLoad, parsePattern } from '../../loadgen/index.js';
import { PACKAGE_ROOT } from './init.js';
import { formatRows } from '../input.js';
import { badArgument } from '../bad-argument.js';
import { BUILTIN_NAMES } from '../../policy/builtins.js';
import type { DemoArgs } from './demo.js';

/**
 * Demo knobs; the defaults make one instance saturate at the spike and idle after it.
 * Two workloads: with a CPU policy (the seed's sample, any .lua) each request burns `burnMs` of CPU,
 * which needs spare cores to show anything; otherwise each request holds 100 ms of wall time and the
 * gateway lets 4 run per instance (40 rps per instance), which saturates the same way on any machine.
 */
export interface DemoOptions {
  durationS: number;
  policy: string;
  /** CPU ms each request burns in the backend (CPU workload). */
  burnMs: number;
  /** Requests per second before and after the spike; the spike is 4×. */
  baseRps: number;
  log: (line: string) => void;
}

/** The summary `--json` prints. */
export interface DemoSummary {
  events: Array<Record<string, unknown>>;
  requests: { total: number; ok: number; shed: number; errors: number };
  replicas: { min: number; max: number; final: number };
  latency_ms: { p50: number; p95: number; p99: number };
}

// Per-instance targets at 70 % of an instance's 40 rps / 4 concurrent requests (Knative's 70 %).
const BUILTIN_DEFAULTS: Record<string, string> = {
  hpa: '{ builtin: hpa, params: { metric: cpu, target: 60 } }',
  'target-tracking': '{ builtin: target-tracking, params: { metric: rps, target: 28 } }',
  kpa: '{ builtin: kpa, params: { metric: concurrency, target: 2.8 } }',
  predictive: '{ builtin: predictive, params: { metric: rps, target: 28 } }',
};

/** True when the policy scales on CPU, so the demo's requests must burn CPU. */
export function cpuWorkload(policy: string): boolean {
  return policy === 'seed' || policy.endsWith('.lua') || policy === 'builtin:hpa';
}

/** The demo's config, as YAML, so it goes through the same loader as a user's file. */
export function demoConfig(dir: string, opts: Pick<DemoOptions, 'policy' | 'burnMs'>): string {
  let policy: string;
  if (opts.policy === 'seed') policy = JSON.stringify(join(PACKAGE_ROOT, 'examples/policies/seed-cpu.lua'));
  else if (opts.policy.startsWith('builtin:')) {
    const name = opts.policy.slice('builtin:'.length);
    policy = BUILTIN_DEFAULTS[name] ?? `{ builtin: ${JSON.stringify(name)} }`;
  } else policy = JSON.stringify(opts.policy);
  return `
gateway: { listen: "127.0.0.1:0", access_log: "off", drain_timeout: 5s }
admin: { listen: "127.0.0.1:0" }
store: { sqlite: ${JSON.stringify(join(dir, 'demo.db'))} }
services:
  demo:
    routes: [{ path_prefix: "/" }]
    provider:
      process:
        command: [${JSON.stringify(process.execPath)}, ${JSON.stringify(join(PACKAGE_ROOT, 'examples/demo-backend/server.mjs'))}]
        env: { BURN_MS: "${opts.burnMs}", DRAIN_MS: "3000" }
        log_dir: ${JSON.stringify(join(dir, 'logs'))}
        stop_grace: 5s
    scaling:
      min: 1
      max: 6
      interval: 1s
      policy: ${policy}
      window: 2s
      behavior:
        scale_up: { stabilization: 0s }
        scale_down: { stabilization: 10s, max_step: { pods: 1, period: 5s } }
        panic: { enabled: false }
    traffic:
      concurrency: { per_instance: ${cpuWorkload(opts.policy) ? 8 : 4} }
      queue: { max: 500, timeout: 10s }
      retries: { budget_percent: 20 }
`;
}

/** Runs the demo and resolves with its summary. */
export async function runDemo(opts: DemoOptions): Promise<DemoSummary> {
  const dir = mkdtempSync(join(tmpdir(), 'luascale-demo-'));
  const configText = demoConfig(dir, opts);
  writeFileSync(join(dir, 'luascale.yaml'), configText);
  const config = parseConfig(configText, join(dir, 'luascale.yaml'));
  const started = Date.now();
  const t = () => +((Date.now() - started) / 1000).toFixed(1);
  const events: DemoSummary['events'] = [];
  let minReplicas = Infinity;
  let maxReplicas = 0;
  const app = await startApp(
    { config, file: join(dir, 'luascale.yaml'), baseDir: dir },
    {
      onEvent: (e: AdminEvent) => {
        const d = e.data as Record<string, any>;
        if (e.type === 'decision' && d.replicas !== d.current) {
          events.push({
            t: t(),
            type: 'decision',
            from: d.current,
            to: d.replicas,
            reason: d.reason,
            message: d.message,
          });
          opts.log(`t=${t()}s  decision ${d.current} → ${d.replicas}  ${d.reason}: ${d.message}`);
        } else if (e.type === 'instance' && (d.state === 'ready' || d.state === 'stopped')) {
          events.push({ t: t(), type: 'instance', id: d.id, state: d.state });
          opts.log(`t=${t()}s  instance ${d.id} ${d.state}`);
        } else if (e.type === 'alert') {
          events.push({ t: t(), type: 'alert', name: d.name, status: d.status, message: d.message });
          opts.log(`t=${t()}s  alert ${d.status ?? ''} ${d.name}: ${d.message}`);
        }
      },
    },
  );
  try {
    opts.log(
      `gateway ${app.gatewayUrl}  ·  dashboard and admin API ${app.adminUrl}  ·  policy ${app.controllers.get('demo')!.spec.policy.name}`,
    );
    const controller = app.controllers.get('demo')!;
    await waitForReady(app, 1, 30_000);
    const d = opts.durationS;
    const spikeAt = Math.round(d * 0.15);
    const calmAt = Math.round(d * 0.55);
    const pattern = parsePattern(
      `step:${opts.baseRps},${opts.baseRps * 4},${Math.max(1, Math.round(opts.baseRps / 2))}@${spikeAt}s,${calmAt}s`,
    );
    opts.log(
      `load: ${opts.baseRps} rps, ${opts.baseRps * 4} rps from t+${spikeAt}s, ${Math.max(1, Math.round(opts.baseRps / 2))} rps from t+${calmAt}s, for ${d}s`,
    );
    const sample = setInterval(() => {
      const s = controller.status();
      minReplicas = Math.min(minReplicas, s.replicas.ready);
      maxReplicas = Math.max(maxReplicas, s.replicas.ready + s.replicas.starting);
    }, 250);
    const summary = await runLoad({
      url: cpuWorkload(opts.policy) ? `${app.gatewayUrl}/work` : `${app.gatewayUrl}/slow?ms=100`,
      pattern,
      durationMs: d * 1000,
      maxRequests: opts.baseRps * 4 * d + 1000,
      maxInFlight: 2000,
      timeoutMs: 30_000,
      onSecond: (s) => {
        if (s.t % 5 !== 4) return;
        const st = controller.status();
        const o = st.lastObservation;
        opts.log(
          `t=${t()}s  offered ${s.targetRps} rps  ok ${s.ok}/s  shed ${s.status429 + s.status503}/s  p95 ${s.p95.toFixed(0)} ms  ` +
            `cpu ${o?.cpu !== undefined ? `${o.cpu.toFixed(0)}%` : '-'}  replicas ${st.replicas.ready} ready${st.replicas.starting ? ` + ${st.replicas.starting} starting` : ''}${st.replicas.draining ? ` (${st.replicas.draining} draining)` : ''}`,
        );
      },
    });
    clearInterval(sample);
    const final = controller.status().replicas.ready;
    return {
      events,
      requests: {
        total: summary.sent,
        ok: summary.ok,
        shed: summary.status429 + summary.status503,
        errors: summary.errors + summary.dropped,
      },
      replicas: { min: Number.isFinite(minReplicas) ? minReplicas : final, max: maxReplicas, final },
      latency_ms: { p50: summary.latencyMs.p50, p95: summary.latencyMs.p95, p99: summary.latencyMs.p99 },
    };
  } finally {
    await app.close({ graceMs: 5000 });
    rmSync(dir, { recursive: true, force: true });
  }
}

function waitForReady(
  app: Awaited<ReturnType<typeof startApp>>,
  n: number,
  timeoutMs: number,
): Promise<void> {
  const provider = app.providers.get('demo')!;
  if (provider.list().filter((i) => i.state === 'ready').length >= n) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(
        new LuascaleError('LS_ERR_PROVIDER_LAUNCH', {
          service: 'demo',
          reason: `no instance ready within ${timeoutMs} ms`,
        }),
      );
    }, timeoutMs);
    const off = provider.on('ready', () => {
      if (provider.list().filter((i) => i.state === 'ready').length >= n) {
        clearTimeout(timer);
        off();
        resolve();
      }
    });
  });
}

/** `luascale demo` (not --llm): checks the flags, runs the demo, prints the summary. */
export async function demoCommand(o: DemoArgs): Promise<void> {
  const durationS = Number(o.duration);
  const baseRps = Number(o.rps);
  const burnMs = Number(o.burnMs);
  for (const [k, raw, v] of [
    ['--duration', o.duration, durationS],
    ['--rps', o.rps, baseRps],
    ['--burn-ms', o.burnMs, burnMs],
  ] as const) {
    if (!(v > 0) || !Number.isFinite(v)) throw badArgument(k, `must be a positive number, got "${raw}"`);
  }
  if (o.policy.startsWith('builtin:') && !BUILTIN_NAMES.includes(o.policy.slice('builtin:'.length)))
    throw badArgument('--policy', `unknown built-in "${o.policy}" (known: ${BUILTIN_NAMES.join(', ')})`);
  const out = o.json ? process.stderr : process.stdout;
  const summary = await runDemo({
    durationS,
    policy: o.policy,
    burnMs,
    baseRps,
    log: (l) => out.write(l + '\n'),
  });
  if (o.json) process.stdout.write(JSON.stringify(summary) + '\n');
  else {
    process.stdout.write(
      '\n' +
        formatRows([
          [
            'requests',
            `${summary.requests.total} sent, ${summary.requests.ok} ok, ${summary.requests.shed} shed, ${summary.requests.errors} errors`,
          ],
          [
            'latency',
            `p50 ${summary.latency_ms.p50.toFixed(1)} ms, p95 ${summary.latency_ms.p95.toFixed(1)} ms, p99 ${summary.latency_ms.p99.toFixed(1)} ms`,
          ],
          [
            'replicas',
            `min ${summary.replicas.min}, max ${summary.replicas.max}, final ${summary.replicas.final}`,
          ],
          ['scale events', String(summary.events.filter((e) => e.type === 'decision').length)],
        ]),
    );
  }
  if (summary.requests.errors > 0) process.exitCode = 1;
}
