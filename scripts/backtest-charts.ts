/**
 * Screenshots the four charts of `luascale simulate --report` pages into docs/img/ for
 * docs/backtests.md: `backtest-<name>-{load,replicas,p95,drops}.png`.
 *
 *   npx tsx scripts/backtest-charts.ts nasa=/tmp/nasa.html twitter=/tmp/twitter.html ...
 *
 * Needs Chromium (LUASCALE_CHROMIUM, default /usr/bin/chromium), as the report test does.
 */
import { resolve } from 'node:path';
import { chromium } from 'playwright-core';

const CHROMIUM = process.env.LUASCALE_CHROMIUM ?? '/usr/bin/chromium';
const CHARTS = ['load', 'replicas', 'p95', 'drops'] as const;

async function main(): Promise<void> {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--no-first-run',
      '--disable-background-networking',
    ],
  });
  try {
    for (const arg of process.argv.slice(2)) {
      const eq = arg.indexOf('=');
      const name = arg.slice(0, eq);
      const file = resolve(arg.slice(eq + 1));
      const page = await browser.newPage({ viewport: { width: 1240, height: 900 } });
      await page.goto(`file://${file}`);
      await page.waitForSelector('body[data-charts="4"]', { timeout: 60_000 });
      for (const c of CHARTS) {
        const out = `docs/img/backtest-${name}-${c}.png`;
        await page.locator(`#chart-${c}`).screenshot({ path: out });
        console.log(out);
      }
      await page.close();
    }
  } finally {
    await browser.close();
  }
}

await main();
