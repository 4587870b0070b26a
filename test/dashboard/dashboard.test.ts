/**
 * The dashboard in a real browser (Debian chromium through playwright-core) against the real
 * admin server, backed by an in-memory AdminBackend the test drives: it emits the SSE events the
 * program would (signals each tick, decisions, overrides) and waits for the page to show them.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'undici';
import type { Page } from 'playwright-core';
import { buildAdminServer, type AdminBackend, type AdminEvent } from '../../src/admin/admin-server.js';
import type { Decision } from '../../src/controller/decision.js';
import { ARTIFACTS, buildDashboardInto, launchBrowser, loadTimeMs } from './browser.js';
import { usageBackend } from './usage-fixtures.js';

const POLICY = `-- scale on CPU, keep headroom
local target = 60 -- percent
function scale(ctx)
  local want = math.ceil(ctx.replicas * ctx.cpu / target)
  if ctx.latency.p95 > 250 then log("slow: " .. tostring(ctx.latency.p95)) end
  return want
end
`;

function decision(at: number, current: number, replicas: number, reason: Decision['reason']): Decision {
  return {
    service: 'web',
    at,
    current,
    replicas,
    reason,
    message: `cpu 92% over target 60%: ${current} → ${replicas}`,
    mode: 'stable',
    inputs: {
      cpu: 92,
      memory: 40,
      rps: 120,
      inflight: 6,
      queue: 3,
      shed_rps: 0,
      error_rate: 0,
      latency: { p50: 20, p95: 180, p99: 320 },
      replicas: current,
      ready: current,
      starting: 0,
    },
    policy: {
      name: 'policies/cpu.lua',
      outcome: { ok: true, replicas: 4, raw: 4, logs: ['slow: 180'], alerts: [] },
    },
    steps: [
      {
        stage: 'rate-limit',
        from: 4,
        to: replicas,
        reason: 'ScaleUpLimited',
        note: 'at most +1 pod per 15s',
      },
    ],
  };
}

/** The in-memory program: services, an event log and live listeners. */
function memoryBackend() {
  const historyEnd = Math.floor(Date.now() / 10_000) * 10;
  const calls: string[] = [];
  const listeners = new Set<(e: AdminEvent) => void>();
  let nextId = 1;
  const t0 = Date.now() - 120_000;
  const log: AdminEvent[] = [
    {
      id: nextId++,
      service: 'web',
      type: 'decision',
      at: t0,
      data: decision(t0, 2, 3, 'ScaleUpLimited') as any,
    },
  ];
  const web = {
    name: 'web',
    provider: 'process',
    min: 1,
    max: 8,
    policy: 'policies/cpu.lua',
    paused: false,
    override: null as null | { replicas: number; until: number | null },
    replicas: { desired: 3, ready: 3, starting: 0, draining: 0 },
    signals: {
      cpu: 55,
      memory: 30,
      rps: 80,
      inflight: 4,
      queue: 0,
      shed_rps: 0,
      error_rate: 0,
      latency: { p50: 12, p95: 90, p99: 150 },
    },
    lastReason: 'ScaleUpLimited',
    alerts: [] as any[],
    slo: { latency_p95_ms: 200 },
    instances: ['a', 'b', 'c'].map((id, i) => ({
      id: `web-${id}`,
      url: `http://127.0.0.1:${4000 + i}`,
      state: 'ready',
      startedAt: t0 - i * 1000,
      inflight: 1,
      errors: i,
    })),
    lastDecision: decision(t0, 2, 3, 'ScaleUpLimited'),
    operations: {
      getUser: {
        rps: 50,
        latency: { p50: 10, p95: 120, p99: 200 },
        error_rate: 0.001,
        shed_rps: 0,
        slo: { latency_p95_ms: 100, error_rate: 0.01 },
      },
    },
    policySource: POLICY,
  };
  const api = {
    ...web,
    name: 'api',
    policy: 'builtin:hpa',
    policySource: null,
    operations: {},
    slo: null,
    alerts: [{ service: 'api', name: 'HighLatency', severity: 'warning', message: 'p95 high', startsAt: t0 }],
  };
  const services = [web, api];
  const emit = (e: Omit<AdminEvent, 'id'>, stored = true) => {
    const ev = { id: stored ? nextId++ : 0, ...e };
    if (stored) log.push(ev);
    for (const l of listeners) l(ev);
  };
  const backend: AdminBackend = {
    services: () => services,
    service: (n) => services.find((s) => s.name === n) as any,
    scale: (n, r, ttl) => {
      calls.push(`scale ${n} ${r} ${ttl}`);
      const s = services.find((x) => x.name === n)!;
      s.override = { replicas: r, until: ttl ? Date.now() + ttl : null };
      s.replicas.desired = r;
      emit({ service: n, type: 'override', at: Date.now(), data: { replicas: r, ttlMs: ttl ?? null } });
    },
    clearScale: (n) => void calls.push(`clear ${n}`),
    setPaused: (n, p) => {
      calls.push(`paused ${n} ${p}`);
      services.find((x) => x.name === n)!.paused = p;
      emit({ service: n, type: 'override', at: Date.now(), data: { paused: p } });
    },
    reloadPolicy: async () => ({ policy: 'web.lua' }),
    evalPolicy: async (_p, input) => ({
      ...decision(Date.now(), Number(input.replicas ?? 2), 5, 'ScaleUp'),
      service: 'eval',
    }),
    events: (q) =>
      log
        .filter(
          (e) =>
            (q.afterId === undefined || e.id > q.afterId) &&
            (!q.service || e.service === q.service) &&
            (q.since === undefined || e.at >= q.since),
        )
        .slice(0, q.limit),
    subscribe: (l) => (listeners.add(l), () => listeners.delete(l)),
    metricsQuery: (_s, metric) => {
      // 5 minutes of stored history at 10 s steps, so the charts start filled. One fixed,
      // step-aligned end for every query, as a store answers: with `now` read per query, the
      // parallel queries of one chart range could straddle a second and double the timestamps.
      const now = historyEnd;
      // Not an AI service: the store holds no llm.* history for it.
      if (metric.startsWith('llm.')) return { step: 10, points: [] };
      const base: Record<string, number> = {
        rps: 70,
        shed_rps: 2,
        ready: 3,
        replicas: 3,
        'latency.p50': 10,
        'latency.p95': 80,
        'latency.p99': 140,
        queue: 1,
        inflight: 3,
        cpu: 50,
        memory: 30,
      };
      return {
        step: 10,
        points: Array.from(
          { length: 30 },
          (_, i) => [now - 300 + i * 10, (base[metric] ?? 0) + (i % 5)] as [number, number],
        ),
      };
    },
    metricsText: async () => '',
    ready: () => true,
    // Consumers with budgets and a usage ledger (issue 19): the overview's usage panel.
    ...usageBackend,
  };
  /** One tick's `signals` event for web, as the program publishes it. */
  const signals = (at: number, rps: number, desired = web.replicas.desired) =>
    emit(
      {
        service: 'web',
        type: 'signals',
        at,
        data: {
          replicas: { desired, ready: 3, starting: Math.max(0, desired - 3), draining: 0 },
          rps,
          admitted_rps: rps - 1,
          shed_rps: 1,
          cpu: 40 + (rps % 30),
          memory: 35,
          queue: rps % 7,
          inflight: 4,
          error_rate: 0,
          latency: { p50: 15, p95: 100 + (rps % 50), p99: 190 },
          slo: { latency_p95_ms: 200 },
          instances: web.instances.map((i, k) => ({
            id: i.id,
            state: 'ready',
            cpu: 30 + k * 10 + (rps % 10),
            memory: 30 + k,
            inflight: k,
          })),
        },
      },
      false,
    );
  return { backend, calls, emit, signals, listeners };
}

const TOKEN = 's3cret-token';
const mem = memoryBackend();
const dashDir = buildDashboardInto();
const app = await buildAdminServer({
  host: '127.0.0.1',
  port: 0,
  token: TOKEN,
  backend: mem.backend,
  dashboardDir: dashDir,
  authFailuresPerMinute: 100,
});
await app.listen({ host: '127.0.0.1', port: 0 });
const base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
let browser: Awaited<ReturnType<typeof launchBrowser>>;
let page: Page;

before(async () => {
  browser = await launchBrowser();
  page = browser.page;
});
after(async () => {
  await browser?.close();
  await app.close();
  rmSync(dashDir, { recursive: true, force: true });
});

test('GET / serves the built page with a CSP; assets are immutable; an unknown asset is a JSON 404', async () => {
  const res = await request(base + '/');
  assert.equal(res.statusCode, 200);
  assert.match(String(res.headers['content-type']), /text\/html/);
  assert.match(String(res.headers['content-security-policy']), /default-src 'self'/);
  const html = await res.body.text();
  const js = /src="(assets\/app-[^"]+\.js)"/.exec(html)?.[1];
  assert.ok(js, 'index.html references the hashed bundle');
  const asset = await request(`${base}/${js}`);
  assert.equal(asset.statusCode, 200);
  assert.match(String(asset.headers['cache-control']), /immutable/);
  assert.ok((await asset.body.text()).length > 20_000, 'uPlot is bundled in');
  const missing = await request(`${base}/assets/..%2f..%2fpackage.json`);
  assert.equal(missing.statusCode, 404);
  assert.equal(((await missing.body.json()) as any).error.code, 'LS_ERR_ADMIN_NOT_FOUND');
});

test('GET /v1/services answers 200 (regression: the inlined ServiceSummary schema could not resolve its $refs, so every call was a 500)', async () => {
  const res = await request(base + '/v1/services', { headers: { authorization: `Bearer ${TOKEN}` } });
  assert.equal(res.statusCode, 200);
  const list = (await res.body.json()) as Array<{ name: string; replicas: { desired: number } }>;
  assert.deepEqual(
    list.map((s) => s.name),
    ['web', 'api'],
  );
  assert.equal(list[0]!.replicas.desired, 3);
});

test('the SSE stream takes the token as ?access_token= (EventSource cannot send headers)', async () => {
  const denied = await request(`${base}/v1/events/stream?access_token=nope`);
  assert.equal(denied.statusCode, 401);
  await denied.body.dump();
  const ac = new AbortController();
  const ok = await request(`${base}/v1/events/stream?service=web&access_token=${TOKEN}`, {
    signal: ac.signal,
  });
  assert.equal(ok.statusCode, 200);
  assert.match(String(ok.headers['content-type']), /text\/event-stream/);
  ac.abort();
  await ok.body.dump().catch(() => {});
});

test('without a token the page asks for one; signing in with it shows every service', async () => {
  await page.goto(base + '/');
  await page.waitForSelector('#login:not([hidden])');
  assert.match((await page.textContent('#login-needed')) ?? '', /needs a token/);
  await page.fill('#token', 'wrong');
  await page.click('#sign-in');
  await page.waitForSelector('#login-needed >> text=/refused/');
  await page.fill('#token', TOKEN);
  await page.click('#sign-in');
  await page.waitForSelector('tr[data-service="web"]');
  await page.waitForSelector('tr[data-service="api"]');
  assert.equal(await page.evaluate(() => sessionStorage.getItem('luascale.token')), TOKEN);
  assert.match((await page.textContent('tr[data-service="api"]')) ?? '', /HighLatency/);
});

test('the overview loads in under 1 s and moves with the live signals', async () => {
  await page.reload();
  const t = await loadTimeMs(page);
  assert.ok(t.loaded < 1000, `first data shown after ${t.loaded.toFixed(0)} ms`);
  console.log(
    `# overview: DOMContentLoaded ${t.domContentLoaded.toFixed(0)} ms, data shown ${t.loaded.toFixed(0)} ms`,
  );
  await page.waitForSelector('body[data-stream="open"]');
  mem.signals(Date.now(), 123);
  await page.waitForFunction(
    () => document.querySelector('tr[data-service="web"] .rps')?.textContent === '123',
  );
  assert.equal(await page.textContent('tr[data-service="web"] .ready'), '3');
});

test("the overview shows each consumer's tokens and cost today and this month against its budgets", async () => {
  await page.waitForSelector('#usage:not([hidden]) tr[data-consumer="demo"]');
  const cells = await page.$$eval('tr[data-consumer="demo"] td', (tds) => tds.map((td) => td.textContent));
  assert.deepEqual(cells, ['demo', '1250 / 1000', '$0.5000', '1250', '$0.5000 / $2.00']);
  // Over the daily token budget: a full bar, marked bad; the monthly cost at a quarter.
  const meters = await page.$$eval('tr[data-consumer="demo"] meter', (ms) =>
    ms.map((m) => [(m as HTMLMeterElement).value, (m as HTMLMeterElement).max, m.parentElement!.className]),
  );
  assert.deepEqual(meters, [
    [1000, 1000, 'num usage-cell bad'],
    [0.5, 2, 'num usage-cell '],
  ]);
});

test('the service page charts fill from history and update with every signals event', async () => {
  await page.click('a[href="#/service/web"]');
  await page.waitForSelector('body[data-stream="open"]');
  await page.waitForFunction(
    () => Number((document.querySelector('#chart-load') as HTMLElement)?.dataset.points) >= 30,
  );
  const before = Number(await page.getAttribute('#chart-load', 'data-points'));
  const now = Math.floor(Date.now() / 1000) * 1000;
  for (let i = 0; i < 10; i++) mem.signals(now + i * 1000, 100 + i * 10);
  await page.waitForFunction(
    (n) => Number((document.querySelector('#chart-load') as HTMLElement).dataset.points) >= n,
    before + 9,
  );
  await page.waitForFunction(() => document.querySelector('#kpi-rps b')?.textContent === '190');
  for (const id of ['load', 'replicas', 'latency', 'cpu', 'memory', 'queue']) {
    assert.equal(await page.locator(`#chart-${id} canvas`).count(), 1, `chart ${id} drawn`);
  }
  assert.match((await page.textContent('#chart-latency')) ?? '', /SLO p95/);
  // Not an AI service: no tokens or time-to-first-token charts.
  assert.equal(await page.isVisible('#chart-tokens'), false);
  assert.equal(await page.isVisible('#chart-ttft'), false);
  assert.match(
    (await page.textContent('#chart-cpu')) ?? '',
    /web-a.*web-b.*web-c/s,
    'one CPU line per instance',
  );
  // Longer ranges come from the store only (the in-memory store has 30 points).
  await page.selectOption('#range', '1h');
  await page.waitForFunction(
    () => (document.querySelector('#chart-load') as HTMLElement).dataset.points === '30',
  );
  await page.selectOption('#range', '15m');
  await page.waitForFunction(
    (n) => Number((document.querySelector('#chart-load') as HTMLElement).dataset.points) >= n,
    before + 9,
  );
});

test('the decision timeline explains each decision; live decisions arrive on top', async () => {
  const first = page.locator('#timeline details.decision').first();
  await first.waitFor();
  assert.equal(await first.getAttribute('data-reason'), 'ScaleUpLimited');
  const text = (await first.textContent()) ?? '';
  for (const s of ['2 → 3', 'cpu 92%', 'recommended', 'slow: 180', 'rate-limit', 'at most +1 pod per 15s'])
    assert.ok(text.includes(s), `timeline shows ${s}`);
  mem.emit({
    service: 'web',
    type: 'decision',
    at: Date.now(),
    data: decision(Date.now(), 3, 4, 'ScaleUp') as any,
  });
  await page.waitForFunction(
    () => document.querySelector('#timeline details.decision')?.getAttribute('data-reason') === 'ScaleUp',
  );
  // A held decision is listed, and hidden by "changes only".
  mem.emit({
    service: 'web',
    type: 'decision',
    at: Date.now(),
    data: decision(Date.now(), 4, 4, 'ScaleUpStabilized') as any,
  });
  await page.waitForSelector('#timeline details.decision[data-reason="ScaleUpStabilized"]');
  await page.check('#changes-only');
  await page.waitForSelector('#timeline details.decision[data-reason="ScaleUpStabilized"]', {
    state: 'detached',
  });
  assert.equal(await page.locator('#timeline details.decision').count(), 2);
  await page.uncheck('#changes-only');
});

test('instances, per-operation SLOs and the highlighted policy source are shown', async () => {
  assert.equal(await page.locator('#instances tbody tr').count(), 3);
  assert.match((await page.textContent('#operations-table')) ?? '', /getUser.*120 \/ 100/s);
  assert.ok(await page.locator('#operations-table td.bad').count(), 'p95 over its SLO is flagged');
  assert.ok((await page.locator('#policy-source .lua-keyword').count()) >= 6);
  assert.equal(await page.textContent('#policy-source .lua-comment'), '-- scale on CPU, keep headroom');
  assert.equal(
    await page.evaluate(() => document.querySelector('#policy-source')!.textContent),
    POLICY,
    'highlighting keeps the text',
  );
});

test('a manual scale with a TTL changes the replica count', async () => {
  await page.fill('#scale-replicas', '5');
  await page.fill('#scale-ttl', '10m');
  await page.click('#scale');
  await page.waitForSelector('#override-badge');
  assert.ok(mem.calls.includes('scale web 5 600000'));
  assert.match((await page.textContent('#override-badge')) ?? '', /override 5 until/);
  mem.signals(Date.now() + 20_000, 150);
  await page.waitForFunction(() => document.querySelector('#kpi-desired b')?.textContent === '5');
  await page.screenshot({ path: join(ARTIFACTS, 'service-light.png'), fullPage: false });
});

test('pause and resume, and a policy dry run showing the Decision', async () => {
  await page.click('#pause');
  await page.waitForSelector('#paused-badge');
  await page.waitForFunction(() => document.querySelector('#pause')?.textContent === 'Resume');
  await page.click('#pause');
  await page.waitForSelector('#paused-badge', { state: 'detached' });
  assert.deepEqual(
    mem.calls.filter((c) => c.startsWith('paused')),
    ['paused web true', 'paused web false'],
  );
  await page.click('#dry-run');
  await page.waitForSelector('#dry-replicas');
  assert.equal(await page.textContent('#dry-replicas'), '→ 5');
  assert.match((await page.textContent('#dry-result')) ?? '', /ScaleUp.*rate-limit/s);
});

test('on a laptop screen (1366×768) nothing overflows sideways and two charts fit per row', async () => {
  await page.setViewportSize({ width: 1366, height: 768 });
  await page.evaluate(() => window.scrollTo(0, 0));
  // the charts re-size on the resize event, after setViewportSize returns: wait for the layout
  // to settle (a CI flake read the old 1440-wide charts) and fail if it never fits
  const fits = await page
    .waitForFunction(() => document.documentElement.scrollWidth <= window.innerWidth, null, { timeout: 5000 })
    .then(
      () => true,
      () => false,
    );
  assert.ok(fits, 'no horizontal scroll');
  const [a, b] = await Promise.all([
    page.locator('#chart-load').boundingBox(),
    page.locator('#chart-replicas').boundingBox(),
  ]);
  assert.equal(a!.y, b!.y, 'load and replicas charts side by side');
  await page.screenshot({ path: join(ARTIFACTS, 'service-laptop.png') });
  await page.setViewportSize({ width: 1440, height: 900 });
});

test('dark and light mode follow the OS setting and the toggle', async () => {
  const bg = () => page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  await page.emulateMedia({ colorScheme: 'dark' });
  assert.equal(await bg(), 'rgb(13, 17, 23)');
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: join(ARTIFACTS, 'service-dark.png'), fullPage: true });
  await page.click('#theme'); // auto → dark
  await page.click('#theme'); // dark → light
  assert.equal(await page.textContent('#theme'), 'theme: light');
  assert.equal(await bg(), 'rgb(247, 248, 250)');
  await page.click('#theme'); // back to auto
  await page.emulateMedia({ colorScheme: 'light' });
  assert.deepEqual(browser.errors, [], 'no page errors');
});
