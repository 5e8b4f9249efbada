#!/usr/bin/env node
// Builds the shipped CLI: src/ (TypeScript) -> dist/ (JavaScript), so that `lakelet` starts without
// transpiling anything. Run by npm's `prepare` (every `npm install` in a checkout) and `npm run build`;
// the test suite's global setup runs it once too. Plain JavaScript, so it needs no tsx to run.
//
// esbuild (already installed: tsx is built on it) bundles src/cli/main.ts in ~0.2 s, splitting out
// one chunk per dynamically imported command, so a command loads only its own code. Packages stay
// external (node_modules is there at run time); type checking is `npm run typecheck`'s job.
//
// The bin (bin/lakelet.cjs) runs dist/ only while it is newer than every file in src/ (the stamp
// written last holds the build's start time; for a plain read, every file that went into
// dist/read-fast.cjs); a developer who edited src/ gets tsx until the next build.
import { cpSync, existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
const started = Date.now();

// Built beside dist/ and swapped in, so a `lakelet` started meanwhile never sees half a build.
const staging = join(root, `.dist-${process.pid}`);
rmSync(staging, { recursive: true, force: true });
try {
  await build({
    absWorkingDir: root,
    entryPoints: { 'cli/main': 'src/cli/main.ts' },
    outdir: staging,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    // Packages stay external, but for the JavaScript half of DuckDB's client (124 small CommonJS
    // files: loading them one by one through Node's ESM loader costs ~0.15 s of CPU, more than the
    // native library itself); its native half (@duckdb/node-bindings) stays a package. commander
    // (every command) and fzstd (`lakelet read`'s direct path) are bundled too: through the ESM
    // loader commander alone costs ~12 ms of a start whose budget is ~100 ms, bundled ~6 ms.
    plugins: [externalPackagesBut(['@duckdb/node-api', 'commander', 'fzstd'])],
    // Bundled CommonJS calls require(), which ES modules lack.
    banner: { js: "import { createRequire as __lakeletCreateRequire } from 'node:module'; const require = __lakeletCreateRequire(import.meta.url);" },
    // Every chunk sits in dist/cli/, the depth of src/cli/, so `new URL('../../package.json',
    // import.meta.url)` (src/cli/version.ts) finds the same file from the built code.
    chunkNames: 'cli/[name]-[hash]',
    sourcemap: 'linked',
    logLevel: 'warning',
  });
  // `lakelet read`'s direct path as one self-contained CommonJS file, which the bin require()s
  // before anything else for a `read`: Node's ESM loader reads, links and evaluates the ~15 chunks
  // of the same code one by one, ~15 ms more than one CommonJS compile, of a ~100 ms budget
  // (issue 13: ≤ 2× the DuckDB CLI). DuckDB is left out: a read the direct path cannot do without
  // it (a checkpoint parquet-lite does not decode) is declined, and the full CLI runs it.
  const readFast = await build({
    absWorkingDir: root,
    entryPoints: { 'read-fast': 'src/cli/commands/read-fast.ts' },
    // Its sources go into the stamp: the bin checks only these before running it (bin/lakelet.cjs).
    metafile: true,
    outdir: staging,
    outExtension: { '.js': '.cjs' },
    bundle: true,
    format: 'cjs',
    platform: 'node',
    target: 'node20',
    // node:crypto and node:zlib take ~3 ms to load and a plain read seldom calls them (gzip pages,
    // deletion vector files, ids for writes): loaded on first call.
    plugins: [withoutDuckDb(), lazyBuiltins({ 'node:crypto': ['randomUUID', 'createHash'], 'node:zlib': ['gunzipSync', 'crc32'] }), callbackFsPromises(), externalPackagesBut(['fzstd'])],
    // CommonJS has no import.meta: the file's own URL stands in (createRequire(import.meta.url)).
    define: { 'import.meta.url': '__lakeletFileUrl' },
    banner: { js: "const __lakeletFileUrl = require('node:url').pathToFileURL(__filename).href;" },
    sourcemap: 'linked',
    logLevel: 'warning',
  });
  mkdirSync(join(staging, 'cli'), { recursive: true });
  // Files the code finds beside itself (import.meta.dirname): the built code sits in dist/cli/, so
  // they are copied there. src/ui/server.ts serves its page from ./web.
  for (const [from, to] of [['src/ui/web', 'cli/web']]) {
    if (existsSync(join(root, from))) cpSync(join(root, from), join(staging, to), { recursive: true });
  }
  const readFastSources = Object.keys(readFast.metafile.inputs).filter((p) => p.startsWith('src/'));
  writeFileSync(join(staging, 'build-stamp.json'), JSON.stringify({ builtFrom: started, readFastSources }) + '\n');
  rmSync(dist, { recursive: true, force: true });
  try {
    renameSync(staging, dist);
  } catch (err) {
    // Another build (a parallel `npm install`, two test runs) swapped its dist/ in first: same sources, keep it.
    if (err.code !== 'ENOTEMPTY' && err.code !== 'EEXIST') throw err;
  }
} finally {
  rmSync(staging, { recursive: true, force: true });
}
/**
 * An esbuild plugin for the read-fast build: what a local read never needs becomes a function that
 * refuses (the direct path then declines and the full CLI runs): the compute adapter's opener
 * (DuckDB), the gs:// store and the cache of remote objects.
 */
function withoutDuckDb() {
  const refuse = (name) => `export function ${name}() { throw new Error('not loaded on the direct read path'); }`;
  const stubs = {
    'open-compute.ts': "export function openCompute() { return Promise.reject(new Error('DuckDB is not loaded on the direct read path')); }",
    'open-gcs-store.ts': refuse('openGcsStore'),
    'local-cache.ts': refuse('remoteObjectCache'),
  };
  return {
    name: 'without-duckdb',
    setup(b) {
      b.onResolve({ filter: /\/(open-compute|open-gcs-store|local-cache)\.ts$/ }, (args) => ({ path: args.path.split('/').pop(), namespace: 'without-duckdb' }));
      b.onLoad({ filter: /.*/, namespace: 'without-duckdb' }, (args) => ({ contents: stubs[args.path], loader: 'js' }));
    },
  };
}

/**
 * An esbuild plugin: each named built-in module becomes functions that require() it on first call.
 * An import of a name not listed fails the build (esbuild: no matching export), never the run.
 */
function lazyBuiltins(modules) {
  return {
    name: 'lazy-builtins',
    setup(b) {
      const names = Object.keys(modules).map((m) => m.replace(/[/]/g, '\\/')).join('|');
      b.onResolve({ filter: new RegExp(`^(${names})$`) }, (args) => ({ path: args.path, namespace: 'lazy-builtin' }));
      b.onLoad({ filter: /.*/, namespace: 'lazy-builtin' }, (args) => ({
        contents:
          // The bare name ('zlib'), which this plugin does not match: Node's own module.
          `let loaded; const load = () => (loaded ??= require(${JSON.stringify(args.path.replace(/^node:/, ''))}));\n` +
          modules[args.path].map((n) => `export function ${n}(...args) { return load().${n}(...args); }\n`).join(''),
        loader: 'js',
      }));
    },
  };
}

/**
 * An esbuild plugin for the read-fast build: node:fs/promises becomes the few calls a read makes
 * (readFile, stat, readdir, open for reading), each over node:fs's callback form, which is loaded
 * already; every other function of the module loads the real one on first call. The real module
 * loads Node's readline and fs watchers with it, ~1.5 ms of a plain `lakelet read` (issue 13).
 * Errors are the same libuv errors (code, path, syscall), as callers test them.
 */
function callbackFsPromises() {
  const own = ['readFile', 'stat', 'readdir', 'open'];
  return {
    name: 'callback-fs-promises',
    setup(b) {
      b.onResolve({ filter: /^node:fs\/promises$/ }, () => ({ path: 'fs/promises', namespace: 'callback-fs-promises' }));
      b.onLoad({ filter: /.*/, namespace: 'callback-fs-promises' }, async () => {
        const others = Object.keys(await import('node:fs/promises')).filter((n) => !own.includes(n) && n !== 'default' && n !== 'constants');
        return {
          contents: `import * as fs from 'node:fs';
let loaded;
// The bare name, which this plugin does not match: Node's own module.
const real = () => (loaded ??= require('fs/promises'));
const call = (fn, args) => new Promise((resolve, reject) => fn(...args, (err, value) => (err ? reject(err) : resolve(value))));
export const readFile = (...args) => call(fs.readFile, args);
export const stat = (...args) => call(fs.stat, args);
export const readdir = (...args) => call(fs.readdir, args);
export const constants = fs.constants;
/**
 * A FileHandle for a file opened to read: read, stat, sync (a folder is opened 'r' to fsync it) and
 * close, which like the real one closes once (a second close must not close a reused descriptor);
 * any other open is the real one.
 */
export async function open(path, flags, mode) {
  if (flags !== 'r') return real().open(path, flags, mode);
  const fd = await call(fs.open, [path, 'r']);
  let closed;
  return {
    fd,
    read: (buffer, offset, length, position) => new Promise((resolve, reject) => fs.read(fd, buffer, offset, length, position, (err, bytesRead) => (err ? reject(err) : resolve({ bytesRead, buffer })))),
    stat: () => call(fs.fstat, [fd]),
    sync: () => call(fs.fsync, [fd]),
    close: () => (closed ??= call(fs.close, [fd])),
  };
}
${others.map((n) => `export function ${n}(...args) { return real().${n}(...args); }`).join('\n')}
`,
          loader: 'js',
        };
      });
    },
  };
}

/** An esbuild plugin: every bare import (a package) stays an import at run time, except `bundled`. */
function externalPackagesBut(bundled) {
  return {
    name: 'external-packages',
    setup(b) {
      b.onResolve({ filter: /^[^./]/ }, (args) => {
        const name = args.path.startsWith('@') ? args.path.split('/').slice(0, 2).join('/') : args.path.split('/')[0];
        return bundled.includes(name) ? undefined : { path: args.path, external: true };
      });
    },
  };
}

if (!process.argv.includes('--quiet')) process.stdout.write(`lakelet: built dist/ in ${Date.now() - started} ms\n`);
