/**
 * `cli.startup`: how long the CLI takes to start, as users run it: `luascale --version` and
 * `luascale keys --help` (the compiled bin/luascale.js), beside `node -e 0` in the same run (the
 * floor: Node's own start). Each figure is the median of RUNS spawns, the three commands interleaved
 * (this machine is shared); wall ms, and the CPU ms and peak RSS each process reports at exit (less at
 * the mercy of a busy machine than wall time). The commands' implementations load only when a
 * command runs (test/cli/startup-imports.test.ts guards that). 2026-12-07, 2 shared cores, CPU ms /
 * peak RSS: `--version` 1,329 ms / 173 MiB when every command loaded its implementation at start
 * (the app, the gateway, the config schema's ajv compile, gpt-tokenizer), 108 ms / 50 MiB after;
 * `keys --help` 1,304 → 115 ms; `node -e 0` 64-67 ms / 40 MiB.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join, resolve } from 'node:path';
import { ensureBuilt } from './ensure-built.js';
import type { Emit } from './run.js';

const root = resolve(import.meta.dirname, '..');
const RUNS = 11;
// Prints the process's own CPU time and peak RSS on exit (one JSON line on stderr).
const REPORT =
  'data:text/javascript,process.on("exit",()=>{const u=process.resourceUsage();' +
  'process.stderr.write(JSON.stringify({cpuMs:(u.userCPUTime+u.systemCPUTime)/1000,rssKiB:u.maxRSS})+"\\n")})';

interface Start {
  ms: number;
  cpuMs: number;
  rssMiB: number;
}

async function start(args: string[]): Promise<Start> {
  const t0 = performance.now();
  const child = spawn(process.execPath, ['--import', REPORT, ...args], {
    cwd: root,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (c) => (stderr += c));
  const [code] = await once(child, 'exit');
  const ms = performance.now() - t0;
  if (code !== 0) throw new Error(`node ${args.join(' ')} exited ${code}: ${stderr}`);
  const r = JSON.parse(stderr.trim().split('\n').pop()!) as { cpuMs: number; rssKiB: number };
  return { ms, cpuMs: r.cpuMs, rssMiB: r.rssKiB / 1024 };
}

function median(runs: Start[]): Start {
  const mid = (f: (s: Start) => number) => runs.map(f).sort((a, b) => a - b)[runs.length >> 1]!;
  const round = (x: number) => Math.round(x * 10) / 10;
  return {
    ms: round(mid((s) => s.ms)),
    cpuMs: round(mid((s) => s.cpuMs)),
    rssMiB: round(mid((s) => s.rssMiB)),
  };
}

export default async function bench(emit: Emit): Promise<void> {
  ensureBuilt('cli/main.js', 'cli bench');
  const bin = join(root, 'bin/luascale.js');
  const cases = { node: ['-e', '0'], version: [bin, '--version'], keysHelp: [bin, 'keys', '--help'] };
  const runs: Record<keyof typeof cases, Start[]> = { node: [], version: [], keysHelp: [] };
  for (let i = 0; i < RUNS; i++)
    for (const k of Object.keys(cases) as Array<keyof typeof cases>) runs[k].push(await start(cases[k]));
  const node = median(runs.node);
  const version = median(runs.version);
  const keysHelp = median(runs.keysHelp);
  emit({
    name: 'cli.startup',
    value: version.ms,
    unit: 'ms',
    what: `luascale --version, median of ${RUNS} spawns (wall); peers from the same run`,
    version_cpu_ms: version.cpuMs,
    version_rss_mib: version.rssMiB,
    keys_help_ms: keysHelp.ms,
    keys_help_cpu_ms: keysHelp.cpuMs,
    keys_help_rss_mib: keysHelp.rssMiB,
    node_e0_ms: node.ms,
    node_e0_cpu_ms: node.cpuMs,
    node_e0_rss_mib: node.rssMiB,
  });
}
