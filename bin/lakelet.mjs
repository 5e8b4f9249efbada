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

/**
 * A plain `lakelet read` first tries the direct path, one CommonJS file (scripts/build.mjs says
 * why): true when it printed the rows, false when it declined having printed nothing.
 */
async function readDirectly() {
  const { createRequire } = await import('node:module');
  const { readFast } = createRequire(import.meta.url)('../dist/read-fast.cjs');
  return readFast(process.argv);
}

const stamp = builtFrom();
const built = stamp !== undefined && !sourcesNewerThan(stamp);
if (!(built && process.argv[2] === 'read' && (await readDirectly()))) {
  let main;
  if (built) {
    // --verbose prints stack traces: point them at src/ (the maps are read only when asked for).
    if (process.argv.includes('--verbose')) process.setSourceMapsEnabled(true);
    ({ main } = await import('../dist/cli/main.js'));
  } else {
    const { register } = await import('tsx/esm/api');
    register();
    ({ main } = await import('../src/cli/main.ts'));
  }
  await main(process.argv);
}
