#!/usr/bin/env node
// The `lakelet` command. Runs the JavaScript build in dist/ (scripts/build.mjs, run by `npm install`'s
// `prepare` and `npm run build`) when it is there and no file in src/ is newer than it; otherwise — a
// fresh checkout before its first build, or a developer who edited src/ since — loads the TypeScript
// sources through tsx, exactly as before, so what runs is always what src/ says. `npm run build`
// makes the fast path current again.
//
// CommonJS, not an ES module: a main ES module starts Node's ESM loader (~5% of a plain
// `lakelet read`, issue 13: within 2× of the DuckDB CLI). bin/lakelet.mjs runs this file.
'use strict';
const { readdirSync, readFileSync, statSync } = require('node:fs');
const { join } = require('node:path');

const root = join(__dirname, '..');

/** dist/build-stamp.json: the time the build started from and the sources of dist/read-fast.cjs. */
function buildStamp() {
  try {
    return JSON.parse(readFileSync(join(root, 'dist', 'build-stamp.json'), 'utf8'));
  } catch {
    return undefined;
  }
}

/** True when some file under src/ changed after the build started (a missing src/ is a shipped copy). */
function sourcesNewerThan(time) {
  let entries;
  try {
    entries = readdirSync(join(root, 'src'), { recursive: true, withFileTypes: true });
  } catch {
    return false;
  }
  for (const e of entries) {
    if (e.isFile() && statSync(`${e.parentPath}/${e.name}`).mtimeMs > time) return true;
  }
  return false;
}

/**
 * True when one of `files` (paths from the checkout's root, the sources esbuild put into
 * dist/read-fast.cjs) changed after the build started or is gone. Only these decide what the
 * bundle does: an edit elsewhere in src/ cannot change it (an edit that makes one of them import
 * a new file changes that one), so stat'ing ~60 files stands in for walking all of src/.
 * A missing src/ (a shipped copy) counts as unchanged, as in sourcesNewerThan.
 */
function bundleSourcesNewerThan(files, time) {
  // No list, or an empty one (a bundle is never built from nothing): not a stamp to trust.
  if (!Array.isArray(files) || files.length === 0) return true;
  if (statSync(join(root, 'src'), { throwIfNoEntry: false }) === undefined) return false;
  for (const file of files) {
    let st;
    try {
      st = statSync(join(root, file));
    } catch {
      // Gone, or a folder on its path is now a file (ENOTDIR) or unreadable: not what was built.
      return true;
    }
    if (st.mtimeMs > time) return true;
  }
  return false;
}

async function run() {
  const stamp = buildStamp();
  const builtFrom = stamp?.builtFrom;
  // A plain `lakelet read` first tries the direct path, one CommonJS file (scripts/build.mjs says
  // why): it prints the rows, or declines having printed nothing and the full CLI runs.
  if (builtFrom !== undefined && process.argv[2] === 'read' && !bundleSourcesNewerThan(stamp.readFastSources, builtFrom)) {
    const { loadReadFast } = require('./read-fast-loader.cjs');
    const bundle = loadReadFast(join(root, 'dist', 'read-fast.cjs'));
    const printed = await bundle.exports.readFast(process.argv);
    bundle.saveCache(printed);
    if (printed) return;
  }
  const built = builtFrom !== undefined && !sourcesNewerThan(builtFrom);
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

// A rejection is left unhandled, as the ES module's top-level await had it: the stack, exit 1.
run();
