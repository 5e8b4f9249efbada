'use strict';
// Loads dist/read-fast.cjs (`lakelet read`'s direct path) with a V8 code cache beside it, so a plain
// read does not parse and compile the ~150 KB bundle, nor the functions it calls, on every start
// (~7% of the whole process, issue 13: within 2× of the DuckDB CLI). Node 20 has no
// module.enableCompileCache (Node 22), hence vm.Script's cachedData.
//
// The cache (dist/read-fast.cjs.cache) is written after a read has run, so the functions the read
// compiled lazily are in it (one written after a read the direct path declined is written again
// after the first that prints); it is written to a temporary file and renamed, so a reader sees a
// whole cache or none. It is used only for the bundle it was made from: its header names the
// bundle's size and mtime (a rebuild replaces dist/ and the cache with it) and the Node version and
// architecture; V8 itself rejects a cache of another V8, other flags or another source length, and
// a rejected cache is written anew. A cache that cannot be written (a read-only dist/) is skipped.
// The cache is as trustworthy as the bundle beside it: both are lakelet's own files in dist/.
//
// LAKELET_TRACE_CODE_CACHE=1 says on stderr what happened to the cache; LAKELET_CODE_CACHE=0 turns it off.
const { closeSync, fstatSync, openSync, readFileSync, renameSync, rmSync, writeFileSync } = require('node:fs');
const { dirname } = require('node:path');
const Module = require('node:module');
const { Script } = require('node:vm');

const MAGIC = 'lakelet-code-cache 1';

function trace(message) {
  if (process.env.LAKELET_TRACE_CODE_CACHE === '1') process.stderr.write(`lakelet: code cache: ${message}\n`);
}

/** The header a cache of this bundle, made by this Node, starts with (one line of JSON). */
function headerFor(st) {
  return JSON.stringify([MAGIC, process.version, process.arch, st.size, st.mtimeMs]) + ' ';
}

/**
 * The cache's V8 data when its header is `header` followed by how the run that wrote it ended
 * (`printed`: a direct read ran, so its functions are in the cache; `declined`: few are), else
 * undefined.
 */
function cachedDataFor(cachePath, header) {
  let bytes;
  try {
    bytes = readFileSync(cachePath);
  } catch {
    trace('absent');
    return undefined;
  }
  const end = bytes.indexOf(10);
  const line = end < 0 ? '' : bytes.toString('utf8', 0, end);
  const after = line.slice(header.length);
  if (!line.startsWith(header) || (after !== 'printed' && after !== 'declined')) {
    trace('of another bundle or Node: ignored');
    return undefined;
  }
  return { data: bytes.subarray(end + 1), printed: after === 'printed' };
}

/**
 * Compiles and runs the CommonJS file at `file` as require() would (a Module in require.cache,
 * its own require), with the code cache when there is a good one. Returns its exports and
 * saveCache(), to be called once the work is done: it writes the cache when there was none or
 * V8 rejected it.
 */
function loadReadFast(file) {
  const cachePath = `${file}.cache`;
  const fd = openSync(file, 'r');
  let source;
  let header;
  try {
    header = headerFor(fstatSync(fd));
    source = readFileSync(fd, 'utf8');
  } finally {
    closeSync(fd);
  }
  const useCache = process.env.LAKELET_CODE_CACHE !== '0';
  const cached = useCache ? cachedDataFor(cachePath, header) : undefined;
  const script = new Script(Module.wrap(source), { filename: file, cachedData: cached?.data });
  if (cached) trace(script.cachedDataRejected ? 'rejected by V8' : 'used');
  const mod = new Module(file, module);
  mod.filename = file;
  mod.paths = Module._nodeModulePaths(dirname(file));
  Module._cache[file] = mod;
  const wrapper = script.runInThisContext();
  wrapper.call(mod.exports, mod.exports, Module.createRequire(file), mod, file, dirname(file));
  mod.loaded = true;
  const stale = useCache && (cached === undefined || script.cachedDataRejected === true);
  return {
    exports: mod.exports,
    /**
     * Writes the cache when there was none or V8 rejected it, and when the one there was written
     * after a declined read (a `--where` compiles little of the bundle) and this run printed.
     */
    saveCache(printed) {
      if (!stale && !(useCache && printed && !cached.printed)) return;
      const temp = `${cachePath}.${process.pid}.tmp`;
      try {
        writeFileSync(temp, Buffer.concat([Buffer.from(`${header}${printed ? 'printed' : 'declined'}\n`), script.createCachedData()]));
        renameSync(temp, cachePath);
        trace('written');
      } catch (err) {
        rmSync(temp, { force: true });
        trace(`not written (${err.code ?? err.message})`);
      }
    },
  };
}

module.exports = { loadReadFast };
