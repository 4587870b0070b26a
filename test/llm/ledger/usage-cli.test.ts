/**
 * The ledger through a running app (real sockets, port 0): `GET /v1/usage` sums the store's rows per
 * group, lists them with view=rows, answers CSV with format=csv and refuses an unknown group key;
 * `luascale usage` prints the table, --json, --csv, --rows and filters by consumer, model and --since.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../../src/config/load-config.js';
import { startApp } from '../../../src/app/luascale-app.js';
import { openStore } from '../../../src/store/index.js';
import { parseWhen } from '../../../src/cli/commands/usage.js';
import { csvField } from '../../../src/admin/usage-routes.js';
import { runCli } from '../../helpers/run-cli.js';
import { usageRow } from './usage-ledger-contract.js';

const NOW = Date.now();
const dir = mkdtempSync(join(tmpdir(), 'ls-usage-'));
let app: Awaited<ReturnType<typeof startApp>>;
let admin: string[];

before(async () => {
  const store = openStore({ file: join(dir, 's.db'), flushIntervalMs: 0 });
  store.usage.append(
    usageRow({ requestId: 'a', time: NOW - 3 * 86_400_000, consumer: 'alice', model: 'gpt' }),
  );
  store.usage.append(
    usageRow({ requestId: 'b', time: NOW - 1000, consumer: 'alice', model: 'gpt', costUsd: 0.25 }),
  );
  store.usage.append(
    usageRow({
      requestId: 'c',
      time: NOW - 500,
      consumer: 'bob',
      model: 'claude',
      usageSource: 'estimated',
      output: 9,
    }),
  );
  store.close();
  const yaml = `
gateway: { listen: "127.0.0.1:0", access_log: "off" }
admin: { listen: "127.0.0.1:0" }
store: { sqlite: "${dir}/s.db" }
consumers:
  demo: { limits: { tokens_per_minute: 1000, cost_per_month_usd: 5, models: { gpt: { tokens_per_day: 9 } } } }
services:
  web:
    provider: { static: { targets: ["http://127.0.0.1:9"] } }
    scaling: { min: 1, max: 1, policy: { builtin: target-tracking, params: { metric: rps, target: 100 } } }
`;
  app = await startApp({
    config: parseConfig(yaml, join(dir, 'luascale.yaml')),
    file: join(dir, 'luascale.yaml'),
    baseDir: dir,
  });
  admin = ['--admin', app.adminUrl];
});

after(async () => {
  await app.close({ graceMs: 500 });
  rmSync(dir, { recursive: true, force: true });
});

test('GET /v1/usage: totals per consumer and model, rows, CSV, and a 400 naming a bad group key', async () => {
  const get = (q: string) => fetch(`${app.adminUrl}/v1/usage${q}`);
  const sum = (await (await get('')).json()) as { by: string[]; groups: Array<Record<string, unknown>> };
  assert.deepEqual(sum.by, ['consumer', 'model']);
  assert.deepEqual(
    sum.groups.map((g) => [g.group, g.requests, g.output, g.estimated]),
    [
      [{ consumer: 'alice', model: 'gpt' }, 2, 100, 0],
      [{ consumer: 'bob', model: 'claude' }, 1, 9, 1],
    ],
  );
  const rows = (await (await get(`?view=rows&since=${NOW - 60_000}`)).json()) as {
    rows: Array<{ requestId: string }>;
  };
  assert.deepEqual(
    rows.rows.map((r) => r.requestId),
    ['b', 'c'],
  );
  const csv = await get('?view=rows&format=csv&consumer=bob');
  assert.match(String(csv.headers.get('content-type')), /^text\/csv/);
  const lines = (await csv.text()).split('\r\n');
  assert.equal(
    lines[0],
    'time,requestId,service,consumer,keyId,model,backend,input,cachedInput,cacheWrite,output,reasoning,costUsd,ttftMs,durationMs,status,outcome,usageSource',
  );
  assert.match(
    lines[1]!,
    /^\d+,c,ai,bob,k1,claude,instances,100,20,0,9,5,0.001,120,900,200,completed,estimated$/,
  );
  assert.equal(lines.length, 3, 'one row and the final CRLF');
  // A client's x-request-id cannot become a spreadsheet formula; numbers stay numbers.
  assert.equal(csvField('=HYPERLINK("http://x")'), `"'=HYPERLINK(""http://x"")"`);
  assert.equal(csvField('@SUM(A1)'), "'@SUM(A1)");
  assert.equal(csvField(-1), '-1');
  assert.equal(csvField('plain'), 'plain');
  const bad = await get('?by=colour');
  assert.equal(bad.status, 400);
  assert.match(((await bad.json()) as { error: { message: string } }).error.message, /colour/);
});

test('luascale usage: the table, filters, --json, --csv and --rows', async () => {
  const table = await runCli('usage', ...admin);
  assert.equal(table.code, 0, table.stderr);
  assert.match(
    table.stdout,
    /^CONSUMER\s+MODEL\s+REQUESTS\s+INPUT\s+CACHED\s+OUTPUT\s+COST_USD\s+ESTIMATED\n/,
  );
  assert.match(table.stdout, /\nalice\s+gpt\s+2\s+200\s+40\s+100\s+0\.2510\s+0\n/);
  const since = await runCli('usage', '--since', '1d', '--consumer', 'alice', '--json', ...admin);
  assert.equal(since.code, 0, since.stderr);
  const j = JSON.parse(since.stdout) as { groups: Array<{ requests: number; costUsd: number }> };
  assert.equal(j.groups.length, 1);
  assert.equal(j.groups[0]!.requests, 1, 'the row of three days ago is left out');
  const byDay = await runCli('usage', '--by', 'day', '--model', 'gpt', '--csv', ...admin);
  assert.equal(
    byDay.stdout.split('\r\n')[0],
    'day,requests,input,cachedInput,cacheWrite,output,reasoning,costUsd,estimated',
  );
  assert.equal(byDay.stdout.split('\r\n').length, 4, 'two days and the final CRLF');
  const rows = await runCli('usage', '--rows', '--model', 'claude', ...admin);
  assert.match(
    rows.stdout,
    /\n\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\s+bob\s+claude\s+instances\s+100\s+20\s+9\s+0\.00100\s+120\s+200\s+estimated\n/,
  );
  const bad = await runCli('usage', '--since', 'yesterday', ...admin);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--since: expected an ISO date/);
});

test('parseWhen: ISO dates and times in UTC, durations back from now', () => {
  assert.equal(parseWhen('--since', '2026-12-01', 0), Date.UTC(2026, 11, 1));
  assert.equal(parseWhen('--since', '2026-12-01T10:00:00', 0), Date.UTC(2026, 11, 1, 10));
  assert.equal(parseWhen('--since', '2026-12-01T10:00:00+01:00', 0), Date.UTC(2026, 11, 1, 9));
  assert.equal(parseWhen('--since', '7d', 10 * 86_400_000), 3 * 86_400_000);
  assert.throws(() => parseWhen('--until', '2026-13-45', 0), /--until/);
});

test('GET /v1/consumers shows token and cost limits, per model too (not null for a consumer without rps)', async () => {
  const r = (await (await fetch(`${app.adminUrl}/v1/consumers`)).json()) as {
    consumers: Array<{ name: string; limits: unknown }>;
  };
  assert.deepEqual(r.consumers.find((c) => c.name === 'demo')?.limits, {
    tokens_per_minute: 1000,
    cost_per_month_usd: 5,
    models: { gpt: { tokens_per_day: 9 } },
  });
});
