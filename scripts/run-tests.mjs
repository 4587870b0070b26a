#!/usr/bin/env node
// Runs every *.test.ts under src/ and test/ with node's built-in runner (through tsx, so the
// tests exercise the sources, not a stale build). Arguments filter the files by substring.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

function walk(dir, out) {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'dist' || name === 'fixtures') continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

const filters = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const flags = process.argv.slice(2).filter((a) => a.startsWith('-'));
const files = [...walk('src', []), ...walk('test', [])]
  .filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)))
  .sort();
if (files.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}
// Two phases: the unit and integration files run two at a time; the end-to-end files under
// test/e2e/ (real processes under load, timing-sensitive) run one at a time afterwards.
const concurrency = process.env.LUASCALE_TEST_CONCURRENCY ?? '2';
const serial = files.filter((f) => f.includes('test/e2e/'));
const parallel = files.filter((f) => !serial.includes(f));
// The whole of one phase, as a last resort (CI gives the whole job 90 min).
const PHASE_LIMIT_MS = 35 * 60_000;
let status = 0;
for (const [group, n] of [
  [parallel, concurrency],
  [serial, '1'],
]) {
  if (group.length === 0) continue;
  // A hung test must not hang the run: a test without its own timeout, and a whole file, fails
  // after 10 min, and a file whose tests are over exits even if a server or timer it left open
  // would keep it alive.
  const res = spawnSync(
    process.execPath,
    [
      '--import',
      'tsx',
      '--test',
      `--test-concurrency=${n}`,
      '--test-timeout=600000',
      '--test-force-exit',
      ...flags,
      ...group,
    ],
    { stdio: 'inherit', timeout: PHASE_LIMIT_MS, killSignal: 'SIGKILL' },
  );
  if (res.error) console.error(`test phase stopped: ${res.error.message}`);
  if (res.status !== 0) status = res.status ?? 1;
}
process.exit(status);
