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
// bundle's CRC-32 (its content, not its size and mtime: a copy that keeps mtimes, or a read of the
// old bundle finishing after a rebuild, must not pair old bytecode with new source, which V8 would
// run without noticing) and the Node version and architecture; V8 itself rejects a cache of another
// V8 or other flags, and a rejected cache is written anew. V8 does not checksum a cache's payload in
// release builds and runs damaged bytecode (a crash at best), so the header carries the payload's
// CRC-32 too; a mismatch counts as no cache. A cache that cannot be written (a read-only dist/) is
// skipped. zlib.crc32 is native (Node >= 20.15) and costs well under a millisecond here.
//
// LAKELET_TRACE_CODE_CACHE=1 says on stderr what happened to the cache; LAKELET_CODE_CACHE=0 turns it off.
const { accessSync, constants, readFileSync, renameSync, rmSync, writeFileSync } = require('node:fs');
const { dirname } = require('node:path');
const Module = require('node:module');
const { Script } = require('node:vm');
const { crc32 } = require('node:zlib');

const MAGIC = 'lakelet-code-cache 2';

function trace(message) {
  if (process.env.LAKELET_TRACE_CODE_CACHE === '1') process.stderr.write(`lakelet: code cache: ${message}\n`);
}

/** The header a cache of this bundle's source, made by this Node, starts with (one line of JSON, then the payload's CRC-32). */
function headerFor(source) {
  return JSON.stringify([MAGIC, process.version, process.arch, source.length, crc32(source)]) + ' ';
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
  const [ending, sum] = line.slice(header.length).split(' ');
  if (!line.startsWith(header) || (ending !== 'printed' && ending !== 'declined')) {
    trace('of another bundle or Node: ignored');
    return undefined;
  }
  const data = bytes.subarray(end + 1);
  if (sum !== String(crc32(data))) {
    trace('damaged: ignored');
    return undefined;
  }
  return { data, printed: ending === 'printed' };
}

/**
 * Compiles and runs the CommonJS file at `file` as require() would (a Module in require.cache,
 * its own require), with the code cache when there is a good one. Returns its exports and
 * saveCache(), to be called once the work is done: it writes the cache when there was none or
 * V8 rejected it.
 */
function loadReadFast(file) {
  const cachePath = `${file}.cache`;
  const source = readFileSync(file);
  const header = headerFor(source);
  const useCache = process.env.LAKELET_CODE_CACHE !== '0';
  const cached = useCache ? cachedDataFor(cachePath, header) : undefined;
  const script = new Script(Module.wrap(source.toString('utf8')), { filename: file, cachedData: cached?.data });
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
        // Serialising is the costly part: not for a dist/ this process cannot write to.
        accessSync(dirname(cachePath), constants.W_OK);
        const data = script.createCachedData();
        writeFileSync(temp, Buffer.concat([Buffer.from(`${header}${printed ? 'printed' : 'declined'} ${crc32(data)}\n`), data]));
        renameSync(temp, cachePath);
        trace('written');
      } catch (err) {
        try {
          rmSync(temp, { force: true });
        } catch {
          // Whatever is in the way is not ours to clear: the rows have printed, the cache is only a saving.
        }
        trace(`not written (${err.code ?? err.message})`);
      }
    },
  };
}

module.exports = { loadReadFast };
