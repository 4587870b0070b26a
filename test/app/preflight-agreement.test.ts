/**
 * Regression (issue 17 item 6, "check and up agree"): a start-up failure after the gateway listened
 * left a hung process answering 503, and `check` passed configs that `up` refused. Now one
 * pre-flight (src/app/preflight.ts, then the port check) runs in both: for every bad config below,
 * `luascale up -c` exits 1 with one line and opens nothing (no store file; both ports are held by
 * this test, so a bind before the failure would show as EADDRINUSE), and `luascale check` exits 1
 * printing that same line.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../helpers/run-cli.js';
import { runUp } from '../helpers/up-process.js';

async function holdPort(host = '127.0.0.1'): Promise<Server> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, host, r));
  return s;
}

interface Ports {
  g: number;
  a: number;
}

const scaling = `scaling: { min: 1, max: 1, policy: { builtin: hpa, params: { metric: cpu, target: 60 } } }`;
const staticSvc = (name: string, extra = '') =>
  `  ${name}:\n    provider: { static: { targets: ["http://127.0.0.1:1"] } }\n${extra}    ${scaling}\n`;
const processSvc = (process: string) => `  web:\n    provider:\n      process:\n${process}    ${scaling}\n`;

/** Each case: the config's listeners and services, and the path and message of the one line. */
const cases: Array<{
  name: string;
  gateway?: (p: Ports) => string;
  admin?: (p: Ports) => string;
  services: string;
  /** The port the test does not hold (the port-in-use case holds only the gateway's). */
  path: string;
  message: RegExp;
}> = [
  {
    name: 'admin.listen equal to gateway.listen',
    admin: (p) => `admin: { listen: "127.0.0.1:${p.g}" }\n`,
    services: staticSvc('web'),
    path: 'admin.listen',
    message: /is also gateway\.listen/,
  },
  {
    name: 'a non-loopback admin without a token',
    admin: (p) => `admin: { listen: "0.0.0.0:${p.a}" }\n`,
    services: staticSvc('web'),
    path: 'admin.listen',
    message: /is not a loopback address and admin\.token is empty/,
  },
  {
    name: 'a port out of range',
    gateway: () => `gateway: { listen: "127.0.0.1:99999" }\n`,
    services: staticSvc('web'),
    path: 'gateway.listen',
    message: /port 99999 is out of range/,
  },
  {
    name: 'a missing OpenAPI file',
    services: staticSvc('web', `    openapi: ./no-such-openapi.yaml\n`),
    path: 'services.web.openapi',
    message: /OpenAPI document .*no-such-openapi\.yaml not found/,
  },
  {
    name: 'a missing provider cwd',
    services: processSvc(
      `        command: ["${process.execPath}", "server.mjs"]\n        cwd: ./no-such-dir\n`,
    ),
    path: 'services.web.provider.process.cwd',
    message: /directory .*no-such-dir does not exist/,
  },
  {
    name: 'a command not on PATH',
    services: processSvc(`        command: ["ls-no-such-command", "serve"]\n`),
    path: 'services.web.provider.process.command',
    message: /command "ls-no-such-command" is not on PATH/,
  },
  {
    name: 'a relative command missing from its cwd',
    services: processSvc(`        command: ["./run.sh"]\n        cwd: ./app\n`),
    path: 'services.web.provider.process.command',
    message: /app\/run\.sh is not an executable file/,
  },
  {
    name: 'two services on the same route',
    services:
      staticSvc('web', `    routes: [{ path_prefix: /api, methods: [GET, POST] }]\n`) +
      staticSvc('api', `    routes: [{ path_prefix: /api, methods: [POST] }]\n`),
    path: 'services.api.routes.0',
    message: /services web \(services\.web\.routes\.0\) and api both route path_prefix \/api POST/,
  },
  {
    name: 'a port in use',
    services: staticSvc('web'),
    path: 'gateway.listen',
    message: /cannot listen on 127\.0\.0\.1:\d+: address already in use/,
  },
];

for (const c of cases) {
  test(
    `${c.name}: up exits 1 in one line with nothing bound, check prints the same line`,
    {
      timeout: 60_000,
    },
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'ls-preflight-'));
      mkdirSync(join(dir, 'app'));
      const gateway = await holdPort();
      const admin = await holdPort();
      const p: Ports = {
        g: (gateway.address() as { port: number }).port,
        a: (admin.address() as { port: number }).port,
      };
      const cfg = join(dir, 'luascale.yaml');
      writeFileSync(
        cfg,
        (c.gateway?.(p) ?? `gateway: { listen: "127.0.0.1:${p.g}" }\n`) +
          (c.admin?.(p) ?? `admin: { listen: "127.0.0.1:${p.a}" }\n`) +
          `store: { sqlite: "${dir}/l.db" }\nservices:\n${c.services}`,
      );
      try {
        const up = runUp(cfg);
        // A deadline (not a sleep): the old code kept running with the gateway bound.
        const timer = setTimeout(() => up.child.kill('SIGKILL'), 30_000);
        const { code } = await up.exited;
        clearTimeout(timer);
        const out = up.lines.join('\n');
        assert.equal(code, 1, `exit code; stdout: ${out}; stderr: ${up.stderr()}`);
        const lines = up.stderr().trim().split('\n');
        assert.equal(lines.length, 1, `one line: ${up.stderr()}`);
        // `up` prefixes its error with "error: "; `check` prints the issue line itself.
        const line = lines[0]!.replace(/^error: /, '');
        assert.ok(line.startsWith(`${cfg}:`) && line.includes(` ${c.path}: `), line);
        assert.match(line, c.message);
        if (!/already in use/.test(line))
          assert.doesNotMatch(line, /EADDRINUSE|in use/, 'failed before any bind');
        assert.doesNotMatch(up.stderr(), /at .*\.ts:\d+/, 'no stack trace');
        assert.equal(out, '', 'nothing started');
        assert.equal(existsSync(join(dir, 'l.db')), false, 'the store was not opened');

        const check = await runCli('check', cfg);
        assert.equal(check.code, 1, check.stdout + check.stderr);
        assert.ok(
          check.stderr.split('\n').includes(line),
          `check prints up's line:\n${line}\n---\n${check.stderr}`,
        );
      } finally {
        gateway.close();
        admin.close();
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );
}
