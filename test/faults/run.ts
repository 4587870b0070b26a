/**
 * `npm run test:faults [-- --quick] [-- --only NAME]`: runs every fault scenario under a bounded
 * loopback load and prints one row per fault (fault, expectation, what happened, sent / ok /
 * failed / lost, time to recover). Exit 1 when any fault fails its expectation.
 */
import { ALL_FAULTS, runFaults } from './faults.js';
import { formatTable } from './fault-harness.js';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const onlyAt = args.indexOf('--only');
const only = onlyAt >= 0 ? args[onlyAt + 1] : undefined;
const faults = ALL_FAULTS.filter((f) => !only || f.name.includes(only));
const rows = await runFaults(faults, { quick, loadMs: quick ? 3000 : 8000 }, (r) =>
  process.stderr.write(
    `${r.skipped ? 'SKIP' : r.pass ? 'PASS' : 'FAIL'} ${r.fault} (${(r as { ms?: number }).ms} ms)\n`,
  ),
);
process.stdout.write(formatTable(rows) + '\n');
process.exit(rows.every((r) => r.pass) ? 0 : 1);
