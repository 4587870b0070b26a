#!/usr/bin/env node
// Builds the web dashboard (src/admin/dashboard) with esbuild into static files the admin
// listener serves at `/`: index.html plus content-hashed assets/app-*.js and app-*.css (uPlot
// bundled in, no CDN). Default output: dist/dashboard (gitignored; `npm ci` runs it through
// `prepare`). Usage: node scripts/build-dashboard.mjs [--out DIR] [--dev]
import { build } from 'esbuild';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const src = join(root, 'src/admin/dashboard');

/** Builds into `outDir`; returns the file names and sizes written. */
export async function buildDashboard({ outDir = join(root, 'dist/dashboard'), minify = true } = {}) {
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(join(outDir, 'assets'), { recursive: true });
  const result = await build({
    absWorkingDir: root,
    entryPoints: { app: join(src, 'main.ts') },
    outdir: join(outDir, 'assets'),
    entryNames: '[name]-[hash]',
    bundle: true,
    format: 'esm',
    target: ['es2022', 'chrome110', 'firefox110', 'safari16'],
    minify,
    sourcemap: minify ? 'linked' : 'inline',
    legalComments: 'eof',
    metafile: true,
    logLevel: 'warning',
  });
  const outputs = Object.keys(result.metafile.outputs).map((p) => basename(p));
  const js = outputs.find((f) => f.endsWith('.js'));
  const css = outputs.find((f) => f.endsWith('.css'));
  if (!js || !css) throw new Error(`dashboard build produced ${outputs.join(', ')}`);
  const html = readFileSync(join(src, 'index.html'), 'utf8')
    .replace('%APP_JS%', `assets/${js}`)
    .replace('%APP_CSS%', `assets/${css}`);
  writeFileSync(join(outDir, 'index.html'), html);
  return Object.fromEntries(Object.entries(result.metafile.outputs).map(([p, o]) => [basename(p), o.bytes]));
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const at = args.indexOf('--out');
  const outDir = at >= 0 ? resolve(args[at + 1]) : undefined;
  const files = await buildDashboard({ outDir, minify: !args.includes('--dev') });
  for (const [f, bytes] of Object.entries(files))
    console.log(`dashboard: ${f} ${(bytes / 1024).toFixed(1)} KiB`);
}
