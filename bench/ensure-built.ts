/**
 * The benches time the compiled build in `dist/`, as `luascale` runs it (tsx's transform adds
 * per-call helpers): rebuild it first when any source file is newer than `probe`.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');

/** Runs `tsc -p tsconfig.build.json` when a file under src/ is newer than `dist/<probe>`. */
export function ensureBuilt(probe: string, label: string): void {
  const built = join(root, 'dist', probe);
  const builtAt = existsSync(built) ? statSync(built).mtimeMs : 0;
  const newer = (readdirSync(join(root, 'src'), { recursive: true }) as string[]).some(
    (f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && statSync(join(root, 'src', f)).mtimeMs > builtAt,
  );
  if (!newer) return;
  process.stderr.write(`${label}: compiling src/ to dist/ (tsc -p tsconfig.build.json)\n`);
  const r = spawnSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
  // tsc still emits when some other file fails to typecheck; only a missing build is fatal.
  if (r.status !== 0 && !existsSync(built)) throw new Error('tsc -p tsconfig.build.json failed');
}
