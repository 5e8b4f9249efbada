import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';
import { requirePeer } from './peers.ts';

/**
 * A real browser for the UI tests: Debian's `chromium` (apt-get install chromium; the README's
 * Prerequisites), driven headless through playwright-core, which downloads no browser of its own.
 * CHROMIUM overrides the executable. Like a test peer: missing under CI=true fails, locally skips.
 */
export const CHROMIUM: string = process.env.CHROMIUM ?? '/usr/bin/chromium';

export const chromiumAvailable: boolean = existsSync(CHROMIUM);

export function requireBrowser(): 'run' | 'skip' {
  return requirePeer('chromium', chromiumAvailable);
}

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    // Root in a container has no user namespaces for Chromium's sandbox; the pages are our own.
    args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'],
  });
}
