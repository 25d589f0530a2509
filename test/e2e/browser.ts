/**
 * A real browser for the panel's end-to-end tests: Debian's chromium driven by playwright-core
 * (no browser download), headless, with a fresh profile folder removed afterwards. Screenshots
 * go to test-output/screenshots/ (git-ignored), each page at desktop width and at 390 px.
 */
import { after, before } from 'node:test';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { REPO_ROOT } from '../../src/demo/processes.ts';

export const CHROMIUM = '/usr/bin/chromium';
export const SCREENSHOT_DIR = join(REPO_ROOT, 'test-output', 'screenshots');
export const DESKTOP = { width: 1280, height: 860 };
export const PHONE = { width: 390, height: 844 };

const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

export interface BrowserFixture {
  readonly page: Page;
  /** Saves NAME-desktop.png and NAME-390.png of the current page, whole length. */
  screenshot(name: string): Promise<void>;
}

function newestUnder(path: string): number {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return Math.max(stat.mtimeMs, ...readdirSync(path).map((name) => newestUnder(join(path, name))));
}

/** scripts/setup.sh builds the panel before the suite; a file run alone must not test an old build. */
function ensureCurrentBuild(): void {
  const ui = join(REPO_ROOT, 'ui');
  const built = (() => {
    try {
      return statSync(join(ui, 'dist', 'index.html')).mtimeMs;
    } catch {
      return 0;
    }
  })();
  if (['src', 'index.html', 'vite.config.ts'].some((name) => newestUnder(join(ui, name)) > built)) {
    execFileSync('npx', ['vite', 'build', 'ui', '--logLevel', 'warn'], { cwd: REPO_ROOT, stdio: 'inherit' });
  }
}

export function useBrowser(): BrowserFixture {
  let context: BrowserContext | undefined;
  let page: Page | undefined;
  let profile = '';
  before(async () => {
    ensureCurrentBuild();
    profile = mkdtempSync(join(tmpdir(), 'fleetpanel-chromium-'));
    mkdirSync(SCREENSHOT_DIR, { recursive: true });
    // playwright passes the profile folder as --user-data-dir itself (it refuses the raw flag).
    context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: ARGS, viewport: DESKTOP });
    page = context.pages()[0] ?? (await context.newPage());
    page.setDefaultTimeout(30_000);
  });
  after(async () => {
    await context?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
  });
  return {
    get page() {
      if (!page) throw new Error('the browser is not started (use it inside tests)');
      return page;
    },
    async screenshot(name) {
      const current = page!;
      await current.screenshot({ path: join(SCREENSHOT_DIR, `${name}-desktop.png`), fullPage: true });
      await current.setViewportSize(PHONE);
      await current.screenshot({ path: join(SCREENSHOT_DIR, `${name}-390.png`), fullPage: true });
      await current.setViewportSize(DESKTOP);
    },
  };
}
