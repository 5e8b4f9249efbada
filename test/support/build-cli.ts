import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { REPO } from './process.ts';

/**
 * vitest globalSetup: builds dist/ (scripts/build.mjs, ~0.5–1 s) before any test runs, so every
 * `lakelet` the tests spawn runs the compiled CLI that `npm install` gives users, from the sources
 * as they are now. Without it a checkout whose src/ changed since its last build would have the bin
 * fall back to tsx: still correct, just slower.
 *
 * Skipped when dist/ is already up to date: its stamp (dist/build-stamp.json, the time the build
 * started from) is newer than every file in src/, the build script and package.json, which is the
 * bin's own test (bin/lakelet.cjs) for running dist/ at all. A rebuild would only write the same
 * files again and throw away the read path's V8 code cache.
 */
export default function setup(): void {
  if (distIsCurrent()) return;
  execFileSync(process.execPath, [join(REPO, 'scripts', 'build.mjs')], { cwd: REPO, stdio: ['ignore', 'ignore', 'inherit'] });
}

function distIsCurrent(): boolean {
  let builtFrom: unknown;
  try {
    builtFrom = (JSON.parse(readFileSync(join(REPO, 'dist', 'build-stamp.json'), 'utf8')) as { builtFrom?: unknown }).builtFrom;
  } catch {
    return false;
  }
  if (typeof builtFrom !== 'number') return false;
  const newer = (file: string) => statSync(file, { throwIfNoEntry: false })?.mtimeMs ?? Infinity;
  if ([join(REPO, 'scripts', 'build.mjs'), join(REPO, 'package.json')].some((f) => newer(f) > builtFrom)) return false;
  for (const e of readdirSync(join(REPO, 'src'), { recursive: true, withFileTypes: true })) {
    if (e.isFile() && newer(join(e.parentPath, e.name)) > builtFrom) return false;
  }
  return true;
}
