/**
 * Runs the CLI in this process and captures what it prints (faster than spawning a process per
 * call). Writes are captured only inside the CLI's own async context, so the test runner's
 * reporter, which writes to the same stdout, is never swallowed.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { main } from '../../src/cli/main.js';

/** Result of one CLI run. */
export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

const capture = new AsyncLocalStorage<{ out: string[]; err: string[] }>();
let patched = false;

function patch(): void {
  if (patched) return;
  patched = true;
  for (const [stream, key] of [
    [process.stdout, 'out'],
    [process.stderr, 'err'],
  ] as const) {
    const original = stream.write.bind(stream);
    stream.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
      const sink = capture.getStore();
      if (!sink) return (original as (...a: unknown[]) => boolean)(chunk, ...rest);
      sink[key].push(String(chunk));
      return true;
    }) as typeof stream.write;
  }
}

/** Runs `luascale ...args`; output written while it runs is captured, not printed. */
export async function runCli(...args: string[]): Promise<CliResult> {
  patch();
  const sink = { out: [] as string[], err: [] as string[] };
  const saved = process.exitCode;
  process.exitCode = undefined;
  try {
    const code = await capture.run(sink, () => main(['node', 'luascale', ...args]));
    return { code, stdout: sink.out.join(''), stderr: sink.err.join('') };
  } finally {
    process.exitCode = saved;
  }
}
