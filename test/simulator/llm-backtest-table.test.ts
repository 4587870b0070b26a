// Issue 20: `llm-slo` (its defaults) against the `keda-llm-waiting` baseline on the shared Azure
// code token trace and traces derived from it (scripts/llm-backtest.ts; the setup of
// docs/backtests.md, "LLM autoscaling on token traces": startup 120 s, TTFT SLO p95 2,000 ms).
// Each row pins both policies' replica-hours and TTFT-SLO violation seconds and whether the
// issue's goal (no more violation seconds than the baseline at ≤ 0.85× its replica-hours) holds,
// so a change that moves either shows here first. After an intended change, rerun
// `npx tsx scripts/llm-backtest.ts`, update docs/backtests.md and these pins together.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { COST_GOAL, derivedTokenTraces, runOn } from '../../scripts/llm-backtest.js';
import { shared } from '../helpers/shared.js';

/** trace, keda [RH, violation s], llm-slo [RH, violation s], goal met. */
const TABLE: Array<[string, [number, number], [number, number], boolean]> = [
  ['azure-x3', [21.01, 382], [12.39, 97], true],
  ['azure-rev-x3', [35.81, 449], [14.37, 116], true],
  ['azure-half2-x3', [20.95, 187], [4.68, 97], true],
];

const file = shared('traces', 'azure-llm-code-2023-11-16-1h-tokens.csv');
const missing = !existsSync(file) && `no ${file} (set LUASCALE_SHARED)`;
const traces = missing ? [] : derivedTokenTraces();

for (const [name, kedaWant, sloWant, goal] of TABLE) {
  test(
    `llm-slo vs keda-llm-waiting on ${name}: pinned replica-hours and TTFT violation seconds`,
    { skip: missing },
    async () => {
      const d = traces.find((x) => x.name === name)!;
      const keda = await runOn(d, 'builtin:keda-llm-waiting');
      const slo = await runOn(d, 'builtin:llm-slo');
      const got = (s: typeof keda): [number, number] => [
        Math.round(s.replica_hours * 100) / 100,
        s.ttft_slo_violation_seconds,
      ];
      assert.deepEqual({ keda: got(keda), 'llm-slo': got(slo) }, { keda: kedaWant, 'llm-slo': sloWant });
      const met =
        slo.replica_hours <= COST_GOAL * keda.replica_hours &&
        slo.ttft_slo_violation_seconds <= keda.ttft_slo_violation_seconds;
      assert.equal(met, goal, `goal on ${name}`);
    },
  );
}
