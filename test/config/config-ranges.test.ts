/**
 * Issue 17 item 14: every duration and count in the config schema has a sane range. Values that
 * cannot work (a zero timeout, an empty port variable) and durations beyond Node's timer limit
 * (24.8 days, where setTimeout fires after 1 ms and an interval becomes a busy loop) are refused by
 * `luascale check` with one line naming file:line, the path and the rule.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { check } from '../../src/cli/commands/check.js';
import { ConfigInputSchema } from '../../src/config/schema.js';
import { parseConfig } from '../../src/config/load-config.js';
import { MAX_TIMER_MS, parseDuration } from '../../src/core/duration.js';

const WEB = `services:
  web:
    provider:
      static: { targets: ["http://127.0.0.1:1"] }
`;
const PROCESS = `services:
  job:
    provider:
      process: { command: ["node", "app.js"] }
`;
const EXEC = `services:
  batch:
    provider:
      exec: { scale_command: ["scale"], list_command: ["list"] }
`;
/** `base` with `extra` lines added to its provider's braces (`{ ..., extra }`) or appended. */
const inProvider = (base: string, extra: string) => base.replace(/ \}\n$/, `, ${extra} }\n`);

// [what, config, path, rule]; the bad value is on the last line of the config.
const cases: Array<[string, string, string, RegExp]> = [
  [
    'scaling.interval beyond the timer limit',
    `${WEB}    scaling: { interval: 30d }`,
    'services.web.scaling.interval',
    /^must be at most 1h, got "30d"$/,
  ],
  [
    'queue.timeout beyond the timer limit',
    `${WEB}    traffic: { queue: { timeout: 30d } }`,
    'services.web.traffic.queue.timeout',
    /^must be at most 1h, got "30d"$/,
  ],
  [
    'queue.timeout: 0',
    `${WEB}    traffic: { queue: { timeout: 0 } }`,
    'services.web.traffic.queue.timeout',
    /^must be at least 1ms, got 0$/,
  ],
  [
    'exec.poll_interval: 0',
    inProvider(EXEC, 'poll_interval: 0'),
    'services.batch.provider.exec.poll_interval',
    /^must be at least 100ms, got 0$/,
  ],
  [
    'process.start_timeout: 0',
    inProvider(PROCESS, 'start_timeout: 0'),
    'services.job.provider.process.start_timeout',
    /^must be at least 100ms, got 0$/,
  ],
  [
    'process.port_env: ""',
    inProvider(PROCESS, 'port_env: ""'),
    'services.job.provider.process.port_env',
    /^"" is not valid: must be an environment variable name/,
  ],
  [
    'gateway.request_timeout: 0',
    `${WEB}gateway: { request_timeout: 0 }`,
    'gateway.request_timeout',
    /^must be at least 100ms, got 0$/,
  ],
  [
    'gateway.drain_timeout: 0s',
    `${WEB}gateway: { drain_timeout: 0s }`,
    'gateway.drain_timeout',
    /^must be at least 100ms, got "0s"$/,
  ],
  [
    'alerts.repeat_interval beyond the timer limit',
    `${WEB}alerts: { repeat_interval: 30d }`,
    'alerts.repeat_interval',
    /^must be at most 24d \(Node's timer limit is 24\.8 days\), got "30d"$/,
  ],
  [
    'a number of seconds beyond the range',
    `${WEB}    health: { interval: 2592000 }`,
    'services.web.health.interval',
    /^must be at most 1h, got 2592000$/,
  ],
  [
    'stabilization longer than the HPA allows',
    `${WEB}    scaling: { behavior: { scale_down: { stabilization: 2h } } }`,
    'services.web.scaling.behavior.scale_down.stabilization',
    /^must be at most 1h, got "2h"$/,
  ],
  [
    'concurrency.per_instance: 0',
    `${WEB}    traffic: { concurrency: { per_instance: 0 } }`,
    'services.web.traffic.concurrency.per_instance',
    /^must be >= 1, got 0$/,
  ],
  [
    'scaling.max beyond any fleet',
    `${WEB}    scaling: { max: 10000000 }`,
    'services.web.scaling.max',
    /^must be <= 10000, got 10000000$/,
  ],
];

test('check refuses each bad duration or count with file:line, path and rule', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ls-ranges-'));
  try {
    for (const [what, body, path, rule] of cases) {
      const text = body.trimEnd() + '\n';
      const file = join(dir, 'luascale.yaml');
      writeFileSync(file, text);
      const results = await check(file);
      assert.equal(results[0]!.ok, false, what);
      const lines = results[0]!.message.split('\n');
      assert.equal(lines.length, 1, `${what}: one line\n${results[0]!.message}`);
      const m = /^(.*):(\d+) (\S+): (.*)$/.exec(lines[0]!);
      assert.ok(m, `${what}: file:line path: message\n${lines[0]}`);
      assert.equal(m[1], file, what);
      assert.equal(Number(m[2]), text.trimEnd().split('\n').length, `${what}: the line of the value`);
      assert.equal(m[3], path, what);
      assert.match(m[4]!, rule, what);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the edges of a range are accepted, and compound durations count', () => {
  const c = parseConfig(
    `${WEB}    traffic: { queue: { timeout: 1h }, timeouts: { connect: 1ms } }
    health: { interval: 59m60s }
  job:
    provider: { process: { command: ["node"], start_timeout: 100ms, stop_grace: 0 } }
`,
    'luascale.yaml',
    {},
  );
  assert.equal(c.services.web!.traffic!.queue!.timeout, '1h');
  assert.equal(parseDuration(c.services.web!.health!.interval), 3_600_000);
});

/** Every duration in the schema (the union of a duration string and a number of seconds). */
function walk(s: any, path: string, visit: (s: any, path: string) => void): void {
  if (!s || typeof s !== 'object') return;
  visit(s, path);
  for (const [k, v] of Object.entries<any>(s.properties ?? {})) walk(v, `${path}.${k}`, visit);
  for (const [k, v] of Object.entries<any>(s.patternProperties ?? {})) walk(v, `${path}[${k}]`, visit);
  if (s.items) walk(s.items, `${path}[]`, visit);
  for (const b of s.anyOf ?? []) walk(b, path, visit);
}

test('every duration in the schema has a range within the timer limit, every count a maximum', () => {
  let durations = 0;
  let counts = 0;
  walk(ConfigInputSchema, '', (s, path) => {
    const isDuration = s.anyOf?.some((b: any) => b.type === 'string' && b.pattern) && s.anyOf.length === 2;
    if (isDuration) {
      durations++;
      const r = s['x-duration-range'];
      assert.ok(r, `${path}: a duration without a range`);
      assert.ok(parseDuration(r.max) <= MAX_TIMER_MS, `${path}: max ${r.max} beyond Node's timers`);
      assert.ok(parseDuration(r.min) <= parseDuration(r.max), path);
      if (s.default !== undefined) {
        const d = parseDuration(s.default);
        assert.ok(d >= parseDuration(r.min) && d <= parseDuration(r.max), `${path}: default out of range`);
      }
    }
    if (s.type === 'integer') {
      counts++;
      assert.ok(s.minimum !== undefined && s.maximum !== undefined, `${path}: a count without a range`);
    }
  });
  assert.ok(durations >= 25, `found ${durations} durations`);
  assert.ok(counts >= 10, `found ${counts} counts`);
});
