/**
 * `npm run bench [filter...]`: runs every bench/*.bench.ts (or those whose name contains a filter)
 * and prints one JSON object per line: { name, value, unit, ...peer figures from the same run }.
 * Each bench module default-exports `async function (emit) {}`; peers are measured side by side
 * in the same run, because this machine is shared and absolute times from another run mean little.
 */
import { readdirSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join } from 'node:path';

/** One benchmark figure. */
export interface BenchResult {
  name: string;
  value: number;
  unit: string;
  [peer: string]: unknown;
}

/** Prints one result line. */
export type Emit = (result: BenchResult) => void;

const here = dirname(fileURLToPath(import.meta.url));
const filters = process.argv.slice(2);
const files = readdirSync(here)
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)))
  .sort();

const emit: Emit = (result) => process.stdout.write(JSON.stringify(result) + '\n');
let failed = 0;
for (const file of files) {
  try {
    const mod = await import(pathToFileURL(join(here, file)).href);
    await mod.default(emit);
  } catch (err) {
    failed++;
    process.stderr.write(`bench ${file} failed: ${(err as Error).stack ?? err}\n`);
  }
}
process.exitCode = failed ? 1 : 0;
