import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { REPO } from './process.ts';

/**
 * vitest globalSetup: builds dist/ (scripts/build.mjs, ~0.5 s) before any test runs, so every
 * `lakelet` the tests spawn runs the compiled CLI that `npm install` gives users, from the sources
 * as they are now. Without it a checkout whose src/ changed since its last build would have the bin
 * fall back to tsx: still correct, just slower.
 */
export default function setup(): void {
  execFileSync(process.execPath, [join(REPO, 'scripts', 'build.mjs')], { cwd: REPO, stdio: ['ignore', 'ignore', 'inherit'] });
}
