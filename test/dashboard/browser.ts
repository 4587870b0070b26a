/**
 * Test helpers for the dashboard: build the page into a temp dir, and launch Debian's chromium
 * through playwright-core with a fresh, empty profile (no network services, no first-run UI).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

/** Where screenshots go (CI keeps artifacts/). */
export const ARTIFACTS = join(process.cwd(), 'artifacts', 'dashboard');

/** Builds the dashboard with the real build script; returns the output directory. */
export function buildDashboardInto(dir = mkdtempSync(join(tmpdir(), 'luascale-dash-'))): string {
  execFileSync(process.execPath, ['scripts/build-dashboard.mjs', '--out', dir], { stdio: 'pipe' });
  return dir;
}

/** A headless chromium with an empty profile; `close()` removes the profile. */
export async function launchBrowser(): Promise<{
  context: BrowserContext;
  page: Page;
  errors: string[];
  close(): Promise<void>;
}> {
  const executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
  if (!existsSync(executablePath)) {
    throw new Error(`no browser at ${executablePath}: apt-get install -y chromium (or set CHROMIUM_PATH)`);
  }
  const profile = mkdtempSync(join(tmpdir(), 'luascale-chromium-'));
  mkdirSync(ARTIFACTS, { recursive: true });
  const context = await chromium.launchPersistentContext(profile, {
    executablePath,
    headless: true,
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
    viewport: { width: 1440, height: 900 },
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(err.message));
  page.on('response', (r) => {
    // 401s are expected before the login; anything else failing is a bug of the page or the API.
    if (r.status() >= 400 && r.status() !== 401 && !r.url().endsWith('/favicon.ico'))
      errors.push(`${r.status()} ${r.url()}`);
  });
  page.setDefaultTimeout(10_000);
  return {
    context,
    page,
    errors,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Milliseconds from navigation start to the page's `luascale:loaded` mark (first API data shown). */
export async function loadTimeMs(page: Page): Promise<{ loaded: number; domContentLoaded: number }> {
  await page.waitForSelector('body[data-loaded="true"]');
  return page.evaluate(() => {
    const nav = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming;
    return {
      loaded: performance.getEntriesByName('luascale:loaded')[0]!.startTime,
      domContentLoaded: nav.domContentLoadedEventEnd,
    };
  });
}
