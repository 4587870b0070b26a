/** `luascale llm-sim`: --help documents every flag (and docs/llm-sim.md the same ones), bad values exit 2, --port 0 prints the URL, SIGTERM exits 0. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { runCli } from '../helpers/run-cli.js';
import { buildProgram } from '../../src/cli/main.js';

test('--help and docs/llm-sim.md name the same flags, and the command has no other', async () => {
  const command = buildProgram().commands.find((c) => c.name() === 'llm-sim')!;
  const flags = command.options.map((o) => o.long!).sort();
  const help = await runCli('llm-sim', '--help');
  assert.equal(help.code, 0);
  for (const flag of flags) assert.ok(help.stdout.includes(flag), `--help lacks ${flag}`);
  const docs = readFileSync('docs/llm-sim.md', 'utf8');
  const documented = [...docs.matchAll(/^\| `(--[a-z-]+)/gm)].map((m) => m[1]!).sort();
  assert.deepEqual(documented, flags);
});

test('a bad flag value is one line and exit 2', async () => {
  for (const args of [
    ['--time-scale', '0'],
    ['--fault', 'cut'],
    ['--output-tokens', '9-3'],
    ['--metric-names', 'tgi'],
    ['--itl', 'fast'],
  ]) {
    const r = await runCli('llm-sim', ...args);
    assert.equal(r.code, 2, args.join(' '));
    assert.match(r.stderr, new RegExp(`^error: ${args[0]}: .+\\n$`));
  }
});

test('--port 0 prints the bound URL; it answers; SIGTERM exits 0', async () => {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'test/fixtures/luascale-cli.ts', 'llm-sim', '--port', '0', '--time-scale', '0.01'],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const exited = once(child, 'exit');
  const [line] = (await once(createInterface({ input: child.stdout! }), 'line')) as [string];
  assert.match(line, /^http:\/\/127\.0\.0\.1:\d+$/);
  const res = await fetch(`${line}/v1/chat/completions`, {
    method: 'POST',
    body: JSON.stringify({ model: 'llm-sim', messages: [{ role: 'user', content: 'hi' }], max_tokens: 3 }),
  });
  assert.equal(((await res.json()) as { usage: { completion_tokens: number } }).usage.completion_tokens, 3);
  child.kill('SIGTERM');
  const [code, signal] = await exited;
  assert.deepEqual([code, signal], [0, null]);
});

test('a port in use is one line naming the address, exit 1', async () => {
  const { startLlmSim } = await import('../../src/llm-sim/index.js');
  const taken = await startLlmSim({ port: 0 });
  try {
    const port = new URL(taken.url).port;
    const r = await runCli('llm-sim', '--port', port);
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      new RegExp(`^error: llm-sim: cannot listen on 127\\.0\\.0\\.1:${port}: .*EADDRINUSE.*\\n$`),
    );
  } finally {
    await taken.close();
  }
});
