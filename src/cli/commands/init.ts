/** `luascale init [dir]`: scaffolds a commented config, two policies and a sample app. */
import type { Command } from 'commander';
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LuascaleError } from '../../core/errors.js';

/** The package root (works from src/ under tsx and from dist/ once built). */
export const PACKAGE_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

/** Files written by `init`: target path → source in the package. */
const FILES: Array<[string, string]> = [
  ['luascale.yaml', 'templates/init/luascale.yaml'],
  ['policies/seed-cpu.lua', 'examples/policies/seed-cpu.lua'],
  ['policies/latency-slo.lua', 'templates/init/policies/latency-slo.lua'],
  ['app/server.mjs', 'examples/demo-backend/server.mjs'],
];

/** Writes the scaffold into `dir`; refuses to overwrite unless `force`. Returns the written paths. */
export function scaffold(dir: string, force = false): string[] {
  const existing = FILES.map(([to]) => join(dir, to)).filter((p) => existsSync(p));
  if (existing.length > 0 && !force) {
    throw new LuascaleError('LS_ERR_CLI_USAGE', {
      reason: `${existing.join(', ')} already exist(s); use --force to overwrite`,
    });
  }
  return FILES.map(([to, from]) => {
    const target = join(dir, to);
    mkdirSync(dirname(target), { recursive: true });
    copyFileSync(join(PACKAGE_ROOT, from), target);
    return target;
  });
}

/** Registers `init`. */
export function register(program: Command): void {
  program
    .command('init')
    .description(
      'Scaffold luascale.yaml, policies/ (the seed sample and a module-style example) and a sample app',
    )
    .argument('[dir]', 'target directory', '.')
    .option('--force', 'overwrite existing files')
    .action((dir: string, opts: { force?: boolean }) => {
      const written = scaffold(dir, opts.force);
      for (const p of written) process.stdout.write(`created ${relative(process.cwd(), p) || p}\n`);
      process.stdout.write(`\nNext: cd ${dir} && luascale check luascale.yaml && luascale up\n`);
    });
}
