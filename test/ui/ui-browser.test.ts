import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lakelet, startLakelet } from '../support/cli.ts';
import { REPO, type LiveProcess } from '../support/process.ts';
import { launchBrowser, requireBrowser } from '../support/browser.ts';
import { UI_FIXTURE, uiWorkspace } from '../support/ui-workspace.ts';
import type { Workspace } from '../support/workspace.ts';

/**
 * `lakelet ui` as a user meets it: the real CLI as a child process over a workspace the pipeline
 * made, driven in headless Chromium. Every page loads with no console error, failed request or
 * uncaught exception; a screenshot of each goes to test-output/ui/ (git-ignored). Then what a user
 * does: reads why a file was quarantined, travels back a version, narrows the preview with a filter.
 */
const mode = requireBrowser();
const SHOTS = join(REPO, 'test-output', 'ui');

let ws: Workspace;
let ui: LiveProcess;
let url: string;
let browser: Browser;
let page: Page;
const problems: string[] = [];

async function waitForUrl(proc: LiveProcess): Promise<string> {
  for (;;) {
    const m = /serving .* at (http:\/\/127\.0\.0\.1:\d+\/)/.exec(proc.stdout());
    if (m) return m[1];
    if (proc.child.exitCode !== null) throw new Error(`lakelet ui exited ${proc.child.exitCode}: ${proc.stderr()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Goes to a page and waits until the app has rendered it (or its failure). */
async function open(hash: string): Promise<void> {
  await page.goto(url + hash);
  await page.waitForSelector('[data-ready]');
}

async function shot(name: string): Promise<void> {
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

describe.skipIf(mode === 'skip')('lakelet ui in a real browser', () => {
  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    ws = await uiWorkspace();
    ui = startLakelet(['ui', '-c', ws.configFile]);
    [url, browser] = await Promise.all([waitForUrl(ui), launchBrowser()]);
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on('console', (m) => (m.type() === 'error' || m.type() === 'warning') && problems.push(`console ${m.type()}: ${m.text()} (${page.url()})`));
    page.on('pageerror', (e) => problems.push(`uncaught: ${e.message} (${page.url()})`));
    page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`));
    page.on('response', (r) => r.status() >= 400 && problems.push(`HTTP ${r.status()}: ${r.url()}`));
  });

  afterAll(async () => {
    await browser?.close();
    if (ui && ui.child.exitCode === null) ui.child.kill('SIGKILL');
    ws?.cleanup();
  });

  it('every page loads without console errors and is captured', async () => {
    // name, route, a text the page shows, how many charts it draws
    const pages: [string, string, string, number][] = [
      ['pipelines', '#/pipelines', 'Waiting in landing', 2],
      ['files', '#/files', UI_FIXTURE.quarantined, 0],
      ['file-quarantined', `#/files/orders/${UI_FIXTURE.quarantined}`, 'Error report', 0],
      ['file-bad-records', `#/files/orders/${UI_FIXTURE.mixed}`, 'Bad records', 0],
      ['tables', '#/tables', 'orders.target', 0],
      ['table', '#/tables/orders.target', 'Schema', 0],
      ['history', '#/history/orders.target', 'Diff two versions', 3],
      ['benchmarks', '#/benchmarks', 'Initial bulk load', 2],
    ];
    for (const [name, hash, text, charts] of pages) {
      await open(hash);
      expect(await page.locator('[data-testid=failure]').count(), `${hash}: ${await page.textContent('main')}`).toBe(0);
      await expect.poll(() => page.textContent('main')).toContain(text);
      // Charts drew into their canvases (Chart.js ran), where the page has any.
      expect([hash, await page.locator('canvas').count()]).toEqual([hash, charts]);
      for (const canvas of await page.locator('canvas').all()) expect(await canvas.evaluate((c: HTMLCanvasElement) => c.width > 0 && c.height > 0)).toBe(true);
      await shot(name);
    }
    expect(problems).toEqual([]);
  });

  it("a quarantined file's error is visible, with the requeue command", async () => {
    await open('#/files');
    await page.getByTestId('file-search').fill('brok');
    await page.getByTestId('file-search').press('Enter');
    await expect.poll(() => page.locator('[data-testid=files] tbody tr').count()).toBe(1);
    await page.getByRole('link', { name: UI_FIXTURE.quarantined }).click();
    await page.waitForSelector('[data-testid=quarantine-error]');
    expect(await page.getByTestId('quarantine-error').textContent()).toMatch(/expected 4 fields \(as in line 1\) but found 2/);
    expect(await page.getByTestId('requeue-hint').textContent()).toContain(`lakelet requeue -c ${ws.configFile} -p orders ${UI_FIXTURE.quarantined}`);
    expect(problems).toEqual([]);
  });

  it('time travel shows the older rows; a filter narrows the preview', async () => {
    await open('#/tables/orders.target');
    const nameOf2 = () => page.locator('[data-testid=rows] tbody tr', { has: page.locator('td:first-child', { hasText: /^2$/ }) }).locator('td:nth-child(2)').textContent();
    expect(await nameOf2()).toBe(UI_FIXTURE.after.name);
    expect(await page.getByTestId('row-count').textContent()).toBe('1–26 of 26 rows');

    await page.getByTestId('version-picker').selectOption('1');
    await page.waitForSelector('h1:has-text("as of version 1")');
    expect(await nameOf2()).toBe(UI_FIXTURE.before.name);
    expect(await page.getByTestId('row-count').textContent()).toBe('1–5 of 5 rows');
    await shot('table-version-1');

    await page.getByTestId('version-picker').selectOption('');
    await page.waitForSelector('h1:has-text("version 3")');
    await page.getByTestId('filter-column').selectOption('region');
    await page.getByTestId('filter-value').fill('eu');
    await page.getByTestId('filter-add').click();
    await expect.poll(() => page.getByTestId('row-count').textContent()).toBe('1–14 of 14 rows');
    const regions = await page.locator('[data-testid=rows] tbody tr td:nth-child(4)').allTextContents();
    expect(regions.length).toBe(14);
    expect(new Set(regions)).toEqual(new Set(['eu']));
    await shot('table-filtered');
    expect(problems).toEqual([]);
  });

  it('stops cleanly on SIGINT', async () => {
    ui.child.kill('SIGINT');
    const run = await ui.exited;
    expect([run.code, run.signal]).toEqual([0, null]);
    expect(run.stdout).toContain('lakelet ui: stopped (SIGINT)');
    expect(run.stderr).toBe('');
  });
});

describe('lakelet ui on the command line', () => {
  it('refuses a non-loopback --host without --allow-remote: a usage error (exit 2) that says why', async () => {
    const run = await lakelet(['ui', '-c', 'no-such.yml', '--host', '0.0.0.0']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^lakelet: refusing to serve the UI on 0\.0\.0\.0: it is not a loopback address.*--allow-remote/);
    expect(run.stdout).toBe('');
  });

  it('refuses a port past 65535 as a usage error naming the range, not a Node error', async () => {
    const run = await lakelet(['ui', '-c', 'no-such.yml', '--port', '80000']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/--port.*expected a port number from 0 \(any free port\) to 65535/);
    expect(run.stderr).not.toContain('options.port');
  });
});
