/**
 * The CI soak (`npm run soak -- --minutes 2` equivalent): steady load through a real `luascale up`
 * with the override flipping 2 ↔ 4 replicas; the JS heap's lows grow < 20 % after warm-up, no fd growth,
 * every request answered 2xx. The figures go to the test's diagnostics.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runSoak, formatSoak } from '../../scripts/soak.js';

test(
  'soak 2 min: the JS heap lows hold, no fd growth, nothing lost (RSS reported)',
  { timeout: 240_000 },
  async (t) => {
    // Two minutes cannot tell a leak in RSS from the allocator settling: the same code measured
    // −1.9 % and +27.5 % end-vs-start, and RSS climbs for about four minutes before it levels off
    // (docs/faults.md). So RSS is reported here and judged by the long `npm run soak`; this test
    // judges the JS heap's lows (what collections leave), fds, and that nothing was lost.
    const report = await runSoak({
      minutes: 2,
      rps: 40,
      scaleEverySeconds: 20,
      sampleSeconds: 5,
      rssGoal: false,
      heapGoalPct: 20,
    });
    for (const line of formatSoak(report).split('\n').slice(-5)) t.diagnostic(line);
    assert.ok(report.samples.length >= 20, 'sampled all along');
    assert.ok(report.scaleFlips >= 4, 'the replica count moved');
    assert.equal(report.lost, 0);
    assert.equal(report.load.ok, report.load.sent, JSON.stringify(report.load.errorKinds));
    assert.ok(report.pass, report.problems.join('; '));
  },
);
