import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { runSimulate } from '../../src/cli/commands/simulate.js';

const CHROMIUM = process.env.LUASCALE_CHROMIUM ?? '/usr/bin/chromium';
const fixtures = join(import.meta.dirname, 'fixtures');
const artifacts = resolve(import.meta.dirname, '../../artifacts');

async function writeReport(dir: string): Promise<string> {
  const out = join(dir, 'report.html');
  const sink = { out: () => {}, err: () => {}, tty: false };
  await runSimulate(
    {
      trace: join(fixtures, 'small.csv'),
      scale: '20',
      compare: 'builtin:hpa,builtin:kpa',
      set: [],
      report: out,
      json: true,
    },
    sink,
  );
  return out;
}

test('the report is one self-contained file: uPlot inlined, no external URL', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ls-report-'));
  try {
    const html = readFileSync(await writeReport(dir), 'utf8');
    assert.match(html, /^<!doctype html>/);
    assert.ok(html.includes('uPlot'), 'uPlot inlined');
    assert.ok(!/<script[^>]+src=/i.test(html), 'no external script');
    assert.ok(!/<link[^>]+href=/i.test(html), 'no external stylesheet');
    assert.ok(
      !/https?:\/\/(?!www\.w3\.org)/.test(html.replace(/<script>[\s\S]*?<\/script>/g, '')),
      'no URL outside scripts',
    );
    assert.match(html, /<th>builtin:hpa<\/th><th>builtin:kpa<\/th>/);
    const data = JSON.parse(
      /<script id="data" type="application\/json">([\s\S]*?)<\/script>/.exec(html)![1]!,
    );
    assert.equal(data.policies.length, 2);
    assert.equal(data.t.length, data.offered.length);
    assert.equal(data.policies[0].ready.length, data.t.length);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test(
  'the report opens in Chromium and draws four non-blank charts (screenshot in artifacts/)',
  { skip: !existsSync(CHROMIUM) && `no ${CHROMIUM}`, timeout: 120_000 },
  async () => {
    const { chromium } = await import('playwright-core');
    const dir = mkdtempSync(join(tmpdir(), 'ls-report-'));
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    try {
      const file = await writeReport(dir);
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      // offline: any request other than the file itself fails the test
      const requests: string[] = [];
      page.on('request', (r) => requests.push(r.url()));
      await page.goto(`file://${file}`);
      await page.waitForSelector('body[data-charts="4"]', { timeout: 30_000 });
      assert.deepEqual(errors, []);
      assert.deepEqual(requests, [`file://${file}`]);
      // count coloured pixels on each chart canvas: axes and grid are grey, the series are not
      const inked = await page.evaluate(() =>
        Array.from(document.querySelectorAll('.chart canvas')).map((c) => {
          const canvas = c as HTMLCanvasElement;
          const ctx = canvas.getContext('2d')!;
          const { data } = ctx.getImageData(0, 0, canvas.width, canvas.height);
          let n = 0;
          for (let i = 0; i < data.length; i += 4) {
            const r = data[i]!,
              g = data[i + 1]!,
              b = data[i + 2]!;
            if (data[i + 3]! > 0 && Math.max(r, g, b) - Math.min(r, g, b) > 80) n++;
          }
          return { n, total: data.length / 4 };
        }),
      );
      assert.equal(inked.length, 4);
      for (const { n, total } of inked)
        assert.ok(n > 300, `chart draws its series: ${n} coloured of ${total} pixels`);
      mkdirSync(artifacts, { recursive: true });
      const png = join(artifacts, 'simulator-report.png');
      await page.screenshot({ path: png, fullPage: true });
      assert.ok(statSync(png).size > 30_000, 'screenshot is not blank');
    } finally {
      await browser.close();
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
