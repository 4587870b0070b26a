/**
 * The CI soak (`npm run soak -- --minutes 2` equivalent): steady load through a real `luascale up`
 * with the override flipping 2 ↔ 4 replicas; RSS growth < 10 % after warm-up, no fd growth,
 * every request answered 2xx. The figures go to the test's diagnostics.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runSoak, formatSoak } from '../../scripts/soak.js';

test(
  'soak 2 min: RSS growth < 10 % after warm-up, no fd growth, nothing lost',
  { timeout: 240_000 },
  async (t) => {
    const report = await runSoak({ minutes: 2, rps: 40, scaleEverySeconds: 20, sampleSeconds: 5 });
    for (const line of formatSoak(report).split('\n').slice(-5)) t.diagnostic(line);
    assert.ok(report.samples.length >= 20, 'sampled all along');
    assert.ok(report.scaleFlips >= 4, 'the replica count moved');
    assert.equal(report.lost, 0);
    assert.equal(report.load.ok, report.load.sent, JSON.stringify(report.load.errorKinds));
    assert.ok(report.pass, report.problems.join('; '));
  },
);
