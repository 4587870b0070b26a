/**
 * Faithfulness (issue 5): one short synthetic trace replayed live — the demo backend behind the
 * real gateway and controller, load from the real load generator — and in the simulator with the
 * same scaling section. The desired replica counts over time must agree: within ±1 replica in at
 * least 80 % of the seconds, the same peak (±1), and the first scale-up within 3 s of each other.
 * (Live, the rps signal reaches the controller through real sockets and timers, and instance
 * startup varies; the simulator uses the startup measured in the live run.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../src/config/load-config.js';
import { scalingFromConfig } from '../../src/config/scaling-settings.js';
import { startApp } from '../../src/app/luascale-app.js';
import { runLoad, parsePattern } from '../../src/loadgen/index.js';
import { stepScalingConfig } from '../helpers/step-scaling-config.js';
import { loadPolicy } from '../../src/controller/load-policy.js';
import { parseTrace } from '../../src/simulator/trace.js';
import { simulate } from '../../src/simulator/simulate.js';

const STEP_AT = 5;
const CALM_AT = 15;
const END = 28;

/** Desired replicas at each whole second, from (time s, replicas) change points. */
function timeline(points: Array<[number, number]>, initial: number): number[] {
  const out: number[] = [];
  let i = 0;
  let cur = initial;
  for (let s = 0; s < END; s++) {
    while (i < points.length && points[i]![0] <= s + 0.5) cur = points[i++]![1];
    out.push(cur);
  }
  return out;
}

test(
  'a short trace replayed live and in the simulator gives the same decisions within ±1 replica',
  { timeout: 120_000 },
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ls-faithful-'));
    const text = stepScalingConfig(dir, 'f.db');
    const config = parseConfig(text, join(dir, 'luascale.yaml'));
    const live: Array<[number, number]> = [];
    const launches = new Map<string, number>();
    const startups: number[] = [];
    let start = 0;
    const app = await startApp(
      { config, file: join(dir, 'luascale.yaml'), baseDir: dir },
      {
        onEvent: (e) => {
          const d = e.data as Record<string, unknown>;
          if (start > 0 && e.type === 'decision')
            live.push([(Date.now() - start) / 1000, d.replicas as number]);
          if (e.type === 'scale' && d.direction === 'up')
            for (const id of (d.instances as string[]) ?? []) launches.set(id, Date.now());
          if (e.type === 'instance' && d.state === 'ready' && launches.has(d.id as string))
            startups.push(Date.now() - launches.get(d.id as string)!);
        },
      },
    );
    try {
      const provider = app.providers.get('web')!;
      await new Promise<void>((done) => {
        if (provider.list().some((i) => i.state === 'ready')) return done();
        const off = provider.on('ready', () => (off(), done()));
      });
      start = Date.now();
      await runLoad({
        url: `${app.gatewayUrl}/slow?ms=100`,
        pattern: parsePattern(`step:10,40,5@${STEP_AT}s,${CALM_AT}s`),
        durationMs: END * 1000,
        maxRequests: 5000,
        maxInFlight: 1000,
        timeoutMs: 30_000,
      });
    } finally {
      await app.close({ graceMs: 5000 });
    }

    // The simulator: the same scaling section, the same load as a per-second trace, and the model of
    // /slow?ms=100 with 4 in flight per instance (40 req/s, 100 ms), startup as measured live.
    const rows = ['t,rps'];
    for (let s = 0; s < END; s++) rows.push(`${s},${s < STEP_AT ? 10 : s < CALM_AT ? 40 : 5}`);
    const trace = parseTrace(rows.join('\n'), 'live.csv');
    const s = scalingFromConfig(config, 'web', dir);
    const policy = await loadPolicy(s.policy);
    const startupS = startups.length ? startups.reduce((a, b) => a + b, 0) / startups.length / 1000 : 1;
    const simulated: Array<[number, number]> = [];
    simulate({
      trace,
      model: { capacity: 40, serviceMs: 100, startupS, queueTimeoutS: 20, sloP95Ms: 1000 },
      policy: {
        label: 'web',
        policy,
        params: s.params,
        intervalMs: s.intervalMs,
        windowMs: s.windowMs,
        behavior: s.behavior,
        min: s.min,
        max: s.max,
      },
      initial: 1,
      seriesPoints: 0,
      onDecision: (d, t) => simulated.push([t + 1, d.replicas]),
    });
    rmSync(dir, { recursive: true, force: true });

    const a = timeline(live, 1);
    const b = timeline(simulated, 1);
    const detail = `live ${a.join('')}\nsim  ${b.join('')}`;
    const agree = a.filter((x, i) => Math.abs(x - b[i]!) <= 1).length;
    assert.ok(agree >= 0.8 * END, `agree in ${agree}/${END} s\n${detail}`);
    assert.ok(Math.abs(Math.max(...a) - Math.max(...b)) <= 1, `peaks\n${detail}`);
    const firstUp = (xs: number[]) => xs.findIndex((x) => x > 1);
    assert.ok(firstUp(a) >= 0 && firstUp(b) >= 0, detail);
    assert.ok(Math.abs(firstUp(a) - firstUp(b)) <= 3, `first scale-up\n${detail}`);
    process.stdout.write(
      `live ${a.join('')} | sim ${b.join('')} | agree ${agree}/${END} s | startup ${startupS.toFixed(2)} s\n`,
    );
  },
);
