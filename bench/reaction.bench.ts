/**
 * Time from a load step to the first scale-up decision, on the real program: the demo backend
 * behind the gateway and the control loop (1 s interval, 2 s signal window, target tracking on
 * request rate), load stepping 10 → 40 rps. Goal ≤ 1 s. Reference points, from their defaults
 * (not measured here): Knative reacts in 2–6 s, the Kubernetes HPA in 15–75 s
 * (../shared/reference/anchors-autoscalers.md, "Derived reaction time").
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Emit } from './run.js';
import { parseConfig } from '../src/config/load-config.js';
import { startApp } from '../src/app/luascale-app.js';
import { runLoad, parsePattern } from '../src/loadgen/index.js';

const TRIALS = 3;
const STEP_AT_S = 5;

async function trial(): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'ls-react-'));
  const text = `
gateway: { listen: "127.0.0.1:0", access_log: "off" }
admin: { listen: "127.0.0.1:0" }
store: { sqlite: "${dir}/r.db" }
services:
  web:
    provider:
      process: { command: ["${process.execPath}", "${resolve('examples/demo-backend/server.mjs')}"], log_dir: "${dir}/logs", stop_grace: 2s }
    scaling:
      min: 1
      max: 5
      interval: 1s
      window: 2s
      policy: { builtin: target-tracking, params: { metric: rps, target: 15 } }
`;
  let firstUpAt = 0;
  let loadStart = 0;
  const app = await startApp(
    { config: parseConfig(text, join(dir, 'luascale.yaml')), file: join(dir, 'luascale.yaml'), baseDir: dir },
    {
      onDecision: (d) => {
        if (
          loadStart &&
          !firstUpAt &&
          d.replicas > d.current &&
          Date.now() >= loadStart + STEP_AT_S * 1000 - 200
        )
          firstUpAt = Date.now();
      },
    },
  );
  try {
    const provider = app.providers.get('web')!;
    await new Promise<void>((done) => {
      if (provider.list().some((i) => i.state === 'ready')) return done();
      const off = provider.on('ready', () => (off(), done()));
    });
    loadStart = Date.now();
    await runLoad({
      url: `${app.gatewayUrl}/slow?ms=20`,
      pattern: parsePattern(`step:10,40@${STEP_AT_S}s`),
      durationMs: (STEP_AT_S + 5) * 1000,
      maxRequests: 1000,
    });
    if (!firstUpAt) throw new Error('no scale-up decision after the step');
    return (firstUpAt - (loadStart + STEP_AT_S * 1000)) / 1000;
  } finally {
    await app.close({ graceMs: 2000 });
    rmSync(dir, { recursive: true, force: true });
  }
}

export default async function (emit: Emit): Promise<void> {
  const times: number[] = [];
  for (let i = 0; i < TRIALS; i++) times.push(await trial());
  times.sort((a, b) => a - b);
  emit({
    name: 'reaction_step_to_first_scale_up',
    value: +times[Math.floor(times.length / 2)]!.toFixed(3),
    unit: 's',
    trials: times.map((t) => +t.toFixed(3)),
    goal: 1,
    knative_reference_s: '2-6 (defaults, not measured here)',
    hpa_reference_s: '15-75 (defaults, not measured here)',
  });
}
