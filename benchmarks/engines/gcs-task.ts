// One measured table operation for `npm run bench:gcs`, in a process of its own (cold: a new
// process, a fresh LAKELET_CACHE_DIR), on a local path or a gs:// table:
//
//   node --import tsx benchmarks/engines/gcs-task.ts snapshot <table>
//   node --import tsx benchmarks/engines/gcs-task.ts merge <table> <source.parquet> <key>
//
// Prints one JSON line: wall time (from before the table is opened to the commit) and the
// ObjectStore calls made, counted by wrapping the stores' methods (the HTTP requests a gs:// call
// turns into are counted by the parent's proxy).
import { performance } from 'node:perf_hooks';
import { LocalObjectStore } from '../../src/adapters/storage/local/local-object-store.ts';
import { GcsObjectStore } from '../../src/adapters/storage/gcs/gcs-object-store.ts';
import { DeltaTable } from '../../src/engine/table.ts';

type Call = 'list' | 'get' | 'head' | 'put' | 'delete' | 'copy';
const calls: Record<Call, number> = { list: 0, get: 0, head: 0, put: 0, delete: 0, copy: 0 };
const kinds: Record<string, Call> = { list: 'list', get: 'get', getRange: 'get', head: 'head', put: 'put', putIfAbsent: 'put', putFile: 'put', delete: 'delete', copy: 'copy' };
for (const cls of [LocalObjectStore, GcsObjectStore]) {
  const proto = cls.prototype as unknown as Record<string, ((...args: unknown[]) => Promise<unknown>) | undefined>;
  for (const [method, kind] of Object.entries(kinds)) {
    const original = proto[method];
    if (typeof original !== 'function') continue;
    proto[method] = function (this: unknown, ...args: unknown[]) {
      calls[kind]++;
      return original.apply(this, args);
    };
  }
}

const [op, table, source, key] = process.argv.slice(2);
const t0 = performance.now();
const t = await DeltaTable.forPath(table);
let out: Record<string, unknown>;
try {
  if (op === 'snapshot') {
    const s = await t.snapshot();
    out = { version: s.version, files: s.files.length };
  } else if (op === 'merge') {
    const r = await t.merge({ file: source }, { on: [key] }).whenMatchedUpdateAll().whenNotMatchedInsertAll().execute();
    out = { version: r.version, files: r.snapshot.files.length, updated: r.metrics.numTargetRowsUpdated, inserted: r.metrics.numTargetRowsInserted, filesRewritten: r.metrics.numTargetFilesRemoved };
  } else {
    throw new Error(`unknown op ${op}`);
  }
} finally {
  t.close();
}
const wallMs = performance.now() - t0;
process.stdout.write(JSON.stringify({ wallMs, calls, ...out }) + '\n');
