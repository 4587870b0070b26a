/**
 * `luascale init [dir]`: scaffolds a commented config, two policies, a sample app and editor
 * support for the policies (a LuaLS meta file, .luarc.json, .luacheckrc).
 */
import type { Command } from 'commander';
import { copyFileSync, mkdirSync, statSync, type Stats } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LuascaleError } from '../../core/errors.js';

/** The package root (works from src/ under tsx and from dist/ once built). */
export const PACKAGE_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

/** Files written by `init`: target path → source in the package. */
const FILES: Array<[string, string]> = [
  ['luascale.yaml', 'templates/init/luascale.yaml'],
  ['policies/seed-cpu.lua', 'examples/policies/seed-cpu.lua'],
  ['policies/latency-slo.lua', 'examples/policies/latency-slo.lua'],
  ['app/server.mjs', 'examples/demo-backend/server.mjs'],
  // Editor and linter support for the policies (generated from the signal catalogue; docs/policies.md).
  ['luascale.meta.lua', 'templates/init/luascale.meta.lua'],
  ['.luarc.json', 'templates/init/.luarc.json'],
  ['.luacheckrc', 'templates/init/.luacheckrc'],
];

function stat(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch {
    return undefined;
  }
}

/**
 * Every reason the scaffold cannot be written, found before writing anything: a file where a folder
 * is needed (`dir` itself, `policies/`, `app/`), a folder where a file goes, or (without `force`)
 * files that already exist.
 */
export function scaffoldProblems(dir: string, force = false): string[] {
  const problems: string[] = [];
  const existing: string[] = [];
  const folders = new Set<string>();
  for (const [to] of FILES) {
    for (let d = dirname(join(dir, to)); ; d = dirname(d)) {
      folders.add(d);
      if (d === dirname(d) || d === '.') break;
    }
  }
  const blocked = [...folders].filter((d) => {
    const s = stat(d);
    return s !== undefined && !s.isDirectory();
  });
  for (const d of blocked) problems.push(`${d} is a file, not a folder`);
  for (const [to] of FILES) {
    const target = join(dir, to);
    if (blocked.some((d) => target.startsWith(d + sep))) continue;
    const s = stat(target);
    if (s?.isDirectory()) problems.push(`${target} is a folder, not a file`);
    else if (s) existing.push(target);
  }
  if (existing.length > 0 && !force)
    problems.push(`${existing.join(', ')} already exist(s); use --force to overwrite`);
  return problems;
}

/** Writes the scaffold into `dir`; refuses to overwrite unless `force`. Returns the written paths. */
export function scaffold(dir: string, force = false): string[] {
  const problems = scaffoldProblems(dir, force);
  if (problems.length > 0)
    throw new LuascaleError('LS_ERR_CLI_INIT_BLOCKED', { dir, reason: problems.join('; ') });
  return FILES.map(([to, from]) => {
    const target = join(dir, to);
    try {
      mkdirSync(dirname(target), { recursive: true });
      copyFileSync(join(PACKAGE_ROOT, from), target);
    } catch (err) {
      // Only a race or permissions get here (the checks above passed): say where, in one line.
      throw new LuascaleError('LS_ERR_CLI_INPUT', {
        where: target,
        reason: `cannot write (${(err as NodeJS.ErrnoException).code ?? String(err)})`,
      });
    }
    return target;
  });
}

/** Registers `init`. */
export function register(program: Command): void {
  program
    .command('init')
    .description(
      'Scaffold luascale.yaml, policies/ (the seed sample and a module-style example), a sample app and editor support for policies (luascale.meta.lua, .luarc.json, .luacheckrc)',
    )
    .argument('[dir]', 'target directory', '.')
    .option('--force', 'overwrite existing files')
    .action((dir: string, opts: { force?: boolean }) => {
      const written = scaffold(dir, opts.force);
      for (const p of written) process.stdout.write(`created ${relative(process.cwd(), p) || p}\n`);
      process.stdout.write(`\nNext: cd ${dir} && luascale check luascale.yaml && luascale up\n`);
    });
}
