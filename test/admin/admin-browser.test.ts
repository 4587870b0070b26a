/**
 * Issue 14, item 2, in a real browser: a page on another origin must not be able to pause scaling
 * through the tokenless loopback admin API. Debian's chromium (through playwright-core) loads an
 * "attacker" page served on another loopback port, which tries what needs no preflight: an
 * auto-submitted `<form enctype="text/plain">` and a `fetch(…, { mode: 'no-cors' })`, plus a
 * JSON `fetch` (preflighted). Each request reaches the admin server, and the backend's
 * setPaused is never called; the same request from the admin's own origin (the dashboard's) works.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { buildAdminServer, type AdminBackend } from '../../src/admin/admin-server.js';
import { launchBrowser } from '../dashboard/browser.js';

const chromium = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const skip = !existsSync(chromium) && `no browser at ${chromium}: apt-get install -y chromium (.ci/run does)`;

/** A backend that records the mutations it is asked for. */
function recordingBackend() {
  const calls: string[] = [];
  const svc = (name: string) => ({
    name,
    provider: 'process',
    min: 1,
    max: 6,
    policy: 'builtin:hpa',
    paused: false,
    override: null,
    replicas: { desired: 2, ready: 2, starting: 0, draining: 0 },
    signals: null,
    lastReason: null,
    alerts: [],
    slo: null,
    instances: [],
    lastDecision: null,
    operations: {},
    policySource: null,
  });
  const backend: AdminBackend = {
    services: () => [svc('web')],
    service: (n) => (n === 'web' ? svc(n) : undefined),
    scale: (n, r) => void calls.push(`scale ${n} ${r}`),
    clearScale: (n) => void calls.push(`clear ${n}`),
    setPaused: (n, p) => void calls.push(`paused ${n} ${p}`),
    reloadPolicy: async (n) => {
      calls.push(`reload ${n}`);
      return { policy: 'x.lua' };
    },
    evalPolicy: async () => {
      throw new Error('not used');
    },
    events: () => [],
    subscribe: () => () => {},
    metricsQuery: () => ({ step: 1, points: [] }),
    metricsText: async () => '',
    ready: () => true,
  };
  return { backend, calls };
}

let admin: Awaited<ReturnType<typeof buildAdminServer>>;
let adminPort = 0;
let calls: string[] = [];
/** What reached the admin server: method, path, status, and the Origin it carried. */
const seen: Array<{ method: string; url: string; status: number; origin?: string }> = [];
let attacker: Server;
let attackerPort = 0;
let browser: Awaited<ReturnType<typeof launchBrowser>> | undefined;

const target = () => `http://127.0.0.1:${adminPort}/v1/services/web/pause`;

/** The attacker's pages: a form that submits itself, and a page that runs fetches. */
function attackerPage(path: string): string {
  if (path === '/form')
    return `<!doctype html><form method="POST" enctype="text/plain" action="${target()}">
<input type="hidden" name='{"x":"' value='"}'></form><script>document.forms[0].submit()</script>`;
  return '<!doctype html><title>attacker</title>';
}

before(async () => {
  if (skip) return;
  const rec = recordingBackend();
  calls = rec.calls;
  admin = await buildAdminServer({
    host: '127.0.0.1',
    port: 0,
    token: '',
    backend: rec.backend,
    dashboardDir: '',
  });
  admin.server.on('request', (req, res) =>
    res.on('finish', () =>
      seen.push({ method: req.method!, url: req.url!, status: res.statusCode, origin: req.headers.origin }),
    ),
  );
  await admin.listen({ host: '127.0.0.1', port: 0 });
  adminPort = (admin.server.address() as AddressInfo).port;
  attacker = createServer((req, res) => {
    res.setHeader('content-type', 'text/html');
    res.end(attackerPage(req.url ?? '/'));
  });
  await new Promise<void>((r) => attacker.listen(0, '127.0.0.1', r));
  attackerPort = (attacker.address() as AddressInfo).port;
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  attacker?.close();
  await admin?.close();
});

/** The POSTs to the pause route that reached the server since `from`. */
const pausePosts = (from: number) =>
  seen.slice(from).filter((s) => s.method === 'POST' && s.url === '/v1/services/web/pause');

for (const host of ['127.0.0.1', 'localhost']) {
  test(
    `a page on http://${host}:<other port> cannot pause scaling: form, no-cors fetch, JSON fetch`,
    { skip, timeout: 60_000 },
    async () => {
      const page = browser!.page;
      const origin = `http://${host}:${attackerPort}`;

      // (a) The form submits itself; the browser navigates to the admin API's answer.
      let from = seen.length;
      await Promise.all([page.waitForURL(target()), page.goto(`${origin}/form`)]);
      const form = pausePosts(from);
      assert.equal(form.length, 1, 'the form POST reached the admin server');
      assert.equal(form[0]!.origin, origin);
      assert.equal(form[0]!.status, 403);
      assert.match((await page.content()).toString(), /LS_ERR_ADMIN_FORBIDDEN_ORIGIN/);

      // (b) fetch without CORS: an opaque answer, but the request is sent with the attacker's Origin.
      await page.goto(`${origin}/page`);
      from = seen.length;
      const type = await page.evaluate(
        async (url) => (await fetch(url, { method: 'POST', mode: 'no-cors', body: '{}' })).type,
        target(),
      );
      assert.equal(type, 'opaque');
      const noCors = pausePosts(from);
      assert.equal(noCors.length, 1, 'the no-cors POST reached the admin server');
      assert.equal(noCors[0]!.status, 403);

      // (c) A JSON fetch needs a preflight: without CORS headers the browser never sends the POST.
      from = seen.length;
      const json = await page.evaluate(async (url) => {
        try {
          await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
          return 'sent';
        } catch {
          return 'blocked';
        }
      }, target());
      assert.equal(json, 'blocked');
      assert.deepEqual(
        pausePosts(from).filter((s) => s.status < 400),
        [],
      );

      assert.deepEqual(calls, [], 'setPaused (or any mutation) was never called');
    },
  );
}

test(
  'control: from the admin’s own origin (the dashboard’s) a JSON POST pauses scaling; a text/plain one is refused for its body',
  { skip, timeout: 60_000 },
  async () => {
    const page = browser!.page;
    await page.goto(`http://127.0.0.1:${adminPort}/healthz`);
    // The no-cors request with its text/plain body is still refused here, for its body (JSON only),
    // not its origin; the attacks above were refused for their origin (403).
    const plain = seen.length;
    await page.evaluate(
      async (url) => void (await fetch(url, { method: 'POST', mode: 'no-cors', body: '{}' })),
      target(),
    );
    assert.deepEqual(
      pausePosts(plain).map((s) => s.status),
      [415],
    );
    assert.deepEqual(calls, []);
    const status = await page.evaluate(
      async (url) =>
        (await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' }))
          .status,
      target(),
    );
    assert.equal(status, 200);
    assert.deepEqual(calls, ['paused web true']);
  },
);
