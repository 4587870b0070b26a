/**
 * A reader that stops reading (`luascale events | head`) must not cause a stack trace: the
 * executable exits quietly with 0 on EPIPE (issue 14, item 10). The CLI runs as a child process
 * through the same run() as bin/luascale.js; the test closes its end of the stdout pipe before the
 * child writes, so every write of the child fails with EPIPE.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fakeServer, type FakeServer } from './fake-server.js';

const BIN = process.env.LUASCALE_CLI_BIN ?? 'test/cli/fixtures/bin.ts';
let fake: FakeServer;

before(async () => {
  fake = await fakeServer();
  fake.handle((req, res) => {
    const json = (body: unknown) =>
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    const event = (id: number) => ({ id, service: 'web', type: 'scale', at: id * 1000, data: {} });
    if (req.url.startsWith('/v1/events/stream')) {
      // Follows forever: one event at once, then one every 50 ms.
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(': connected\n\n');
      let id = 1000;
      const send = () => res.write(`id: ${id}\ndata: ${JSON.stringify(event(id++))}\n\n`);
      send();
      const timer = setInterval(send, 50);
      res.on('close', () => clearInterval(timer));
    } else if (req.url.startsWith('/v1/events')) {
      json({ events: Array.from({ length: 1000 }, (_, i) => event(1000 - i)), next: null });
    } else if (req.url.startsWith('/v1/metrics/query')) {
      json({ step: 1, points: Array.from({ length: 20_000 }, (_, i) => [i, i / 3]) });
    } else {
      res.writeHead(404).end();
    }
  });
});
after(() => fake.close());

/** Runs the CLI with its stdout pipe closed by the reader before it writes; resolves to exit code and stderr. */
async function withClosedStdout(...args: string[]): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', BIN, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.destroy();
  let stderr = '';
  child.stderr.on('data', (c) => (stderr += c));
  const [code] = await once(child, 'exit');
  return { code, stderr };
}

for (const args of [
  ['--help'],
  ['load', '--help'], // issue 16, item 4: seen as `luascale load --help | head`
  ['events', '--limit', '1000'],
  ['events', '-f', '--limit', '1'],
  ['history', 'export', '--service', 'web'],
]) {
  test(`luascale ${args.join(' ')} | (a reader that closed): exit 0, nothing on stderr`, async () => {
    const r = await withClosedStdout(...args, ...(args.includes('--help') ? [] : ['--admin', fake.url]));
    assert.equal(r.stderr, '');
    assert.equal(r.code, 0);
  });
}
