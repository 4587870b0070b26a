/** Issue 4's must-show: `luascale demo --duration 60 --json` scales up and down with no errors. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runCli } from '../helpers/run-cli.js';

test(
  'luascale demo --duration 60 --json: at least one scale-up and one scale-down, no failed request',
  { timeout: 150_000 },
  async () => {
    const r = await runCli('demo', '--duration', '60', '--json');
    assert.equal(r.code, 0, r.stderr);
    const summary = JSON.parse(r.stdout.trim().split('\n').pop()!);
    const decisions = summary.events.filter((e: any) => e.type === 'decision');
    assert.ok(
      decisions.some((d: any) => d.to > d.from && d.from >= 1),
      `a scale-up: ${JSON.stringify(decisions)}`,
    );
    assert.ok(
      decisions.some((d: any) => d.to < d.from),
      `a scale-down: ${JSON.stringify(decisions)}`,
    );
    assert.equal(summary.requests.errors, 0);
    assert.equal(summary.requests.shed, 0);
    assert.equal(summary.requests.ok, summary.requests.total);
    assert.ok(summary.replicas.max > summary.replicas.min);
    assert.equal(summary.replicas.final, 1);
    for (const k of ['p50', 'p95', 'p99']) assert.equal(typeof summary.latency_ms[k], 'number');
    assert.match(r.stderr, /decision 1 → 2/, 'the live log shows the decision as it happens');
    process.stdout.write(
      `# demo: ${summary.requests.total} requests, replicas ${summary.replicas.min}..${summary.replicas.max}, p95 ${summary.latency_ms.p95} ms\n`,
    );
  },
);
