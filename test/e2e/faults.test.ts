/**
 * The CI subset of the fault suite (`npm run test:faults` runs all of it with larger budgets):
 * each fault under a small bounded load, asserting its row passes. The table is printed as
 * diagnostics so a CI log shows the figures.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  instancesDie,
  instanceHangs,
  instanceGarbage,
  sigtermDuringLoad,
  storeFails,
  diskFullWhileRunning,
  metricSourceFails,
  wallClockJumps,
  overload,
  slowClients,
  type FaultResult,
} from '../faults/faults.js';
import { formatTable } from '../faults/fault-harness.js';

const budget = { quick: true, loadMs: 2500 };

for (const fault of [
  instancesDie,
  instanceHangs,
  instanceGarbage,
  sigtermDuringLoad,
  storeFails,
  diskFullWhileRunning,
  metricSourceFails,
  wallClockJumps,
  overload,
  slowClients,
]) {
  test(`fault: ${fault.name} → ${fault.expectation}`, { timeout: 60_000 }, async (t) => {
    const row: FaultResult = await fault.run(budget);
    t.diagnostic(formatTable([row]).split('\n')[2]!);
    assert.ok(
      row.pass,
      `${row.happened} (sent ${row.sent}, ok ${row.ok}, failed ${row.failed}, lost ${row.lost})`,
    );
  });
}
