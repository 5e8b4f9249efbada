#!/usr/bin/env node
// The `lakelet` command. Runs the JavaScript build in dist/ (scripts/build.mjs, run by `npm install`'s
// `prepare` and `npm run build`) when it is there and no file in src/ is newer than it; otherwise — a
// fresh checkout before its first build, or a developer who edited src/ since — loads the TypeScript
// sources through tsx, exactly as before, so what runs is always what src/ says. `npm run build`
// makes the fast path current again.
import { readdirSync, readFileSync, statSync } from 'node:fs';

const root = new URL('../', import.meta.url);

/** The time the build in dist/ started from, or undefined when there is none. */
function builtFrom() {
  try {
    return JSON.parse(readFileSync(new URL('dist/build-stamp.json', root), 'utf8')).builtFrom;
  } catch {
    return undefined;
  }
}

/** True when some file under src/ changed after the build started (a missing src/ is a shipped copy). */
function sourcesNewerThan(time) {
  let entries;
  try {
    entries = readdirSync(new URL('src/', root), { recursive: true, withFileTypes: true });
  } catch {
    return false;
  }
  for (const e of entries) {
    if (e.isFile() && statSync(`${e.parentPath}/${e.name}`).mtimeMs > time) return true;
  }
  return false;
}

const stamp = builtFrom();
let main;
if (stamp !== undefined && !sourcesNewerThan(stamp)) {
  // --verbose prints stack traces: point them at src/ (the maps are read only when asked for).
  if (process.argv.includes('--verbose')) process.setSourceMapsEnabled(true);
  ({ main } = await import('../dist/cli/main.js'));
} else {
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import('../src/cli/main.ts'));
}
await main(process.argv);
