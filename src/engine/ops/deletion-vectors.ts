import type { Action, AddFile, DeletionVectorDescriptor } from '../delta/actions.ts';
import type { Snapshot } from '../delta/snapshot.ts';
import type { TableContext } from '../delta/table-context.ts';
import { frameDeletionVectorFile, inlineDeletionVector, readDeletionVector } from '../delta/deletion-vector.ts';
import { encodeRoaringTreemap } from '../delta/roaring-bitmap.ts';
import { parseStats } from '../delta/stats.ts';
import { uuidToBytes, z85Encode } from '../delta/z85.ts';
import { removeFor } from './file-selection.ts';

/**
 * The write side of deletion vectors: DELETE, UPDATE and MERGE mark the rows they delete or replace
 * by position in their file instead of rewriting the file's other rows. Per touched file the new
 * positions are unioned with the file's current DV, and the commit removes (path, old DV) and adds
 * (path, new DV) — the pair log replay keys files by. A file whose DV would cover every row is
 * simply removed. Small DVs go inline in the log; the rest share one DV file per operation.
 */

/** Inline DVs keep the log small only when they are tiny (Z85 grows them by a quarter). */
export const INLINE_MAX_BYTES = 64;

/** Whether operations on this table write DVs instead of rewriting files. */
export function deletionVectorsEnabled(snapshot: Snapshot): boolean {
  return snapshot.configuration['delta.enableDeletionVectors'] === 'true';
}

export interface DvMarkResult {
  /** remove/add pairs (and removes of files now wholly deleted), ready to commit. */
  actions: Action[];
  /** Store keys of DV files written: delete them if the commit does not happen. */
  written: string[];
  /** Files that got a DV for the first time / whose DV was replaced / that were removed outright. */
  dvAdded: number;
  dvUpdated: number;
  filesRemoved: AddFile[];
  /** Files still live, with their new DV (the adds). */
  filesWithDv: AddFile[];
}

/**
 * Builds the actions that delete `positions` (physical row indexes, per add.path) from `files`.
 * Positions already deleted by a file's current DV are harmless: the union has them once.
 * `current`: the files' current DV rows where the caller's scan decoded them already (Scan.deletedRows).
 */
export async function markRowsDeleted(
  ctx: TableContext,
  snapshot: Snapshot,
  files: AddFile[],
  positions: Map<string, ArrayLike<number>>,
  now: number,
  current?: ReadonlyMap<string, readonly number[]>,
): Promise<DvMarkResult> {
  const result: DvMarkResult = { actions: [], written: [], dvAdded: 0, dvUpdated: 0, filesRemoved: [], filesWithDv: [] };
  const pending: { file: AddFile; payload: Uint8Array; cardinality: number }[] = [];
  const inline: { file: AddFile; dv: DeletionVectorDescriptor }[] = [];
  for (const file of files) {
    const fresh = positions.get(file.path);
    if (!fresh || fresh.length === 0) continue;
    const old = !file.deletionVector ? [] : (current?.get(file.path) ?? (await readDeletionVector(ctx.store, file.deletionVector, { tablePath: ctx.uri, version: snapshot.version })));
    const rows = union(old, fresh);
    const numRecords = parseStats(file.stats)?.numRecords;
    result.actions.push(removeFor(file, now, true));
    if (typeof numRecords === 'number' && rows.length >= numRecords) {
      result.filesRemoved.push(file);
      continue;
    }
    if (file.deletionVector) result.dvUpdated++;
    else result.dvAdded++;
    const payload = encodeRoaringTreemap(rows);
    if (payload.length <= INLINE_MAX_BYTES) inline.push({ file, dv: inlineDeletionVector(payload, rows.length) });
    else pending.push({ file, payload, cardinality: rows.length });
  }
  const withDv: { file: AddFile; dv: DeletionVectorDescriptor }[] = [...inline];
  if (pending.length > 0) {
    const uuid = ctx.ids.uuid();
    const key = `deletion_vector_${uuid}.bin`;
    const { bytes, entries } = frameDeletionVectorFile(pending);
    await ctx.store.put(key, bytes);
    result.written.push(key);
    const pathOrInlineDv = z85Encode(uuidToBytes(uuid));
    pending.forEach((p, i) => withDv.push({ file: p.file, dv: { storageType: 'u', pathOrInlineDv, ...entries[i] } }));
  }
  for (const { file, dv } of withDv) {
    const add: AddFile = { ...file, deletionVector: dv, dataChange: true, stats: looseStats(file.stats) };
    result.filesWithDv.push(add);
    result.actions.push({ add });
  }
  return result;
}

/**
 * The sorted, distinct union of a file's current DV rows (sorted) and new positions (usually
 * sorted already: collectPositions orders them; anything else is sorted here).
 */
function union(sorted: readonly number[], fresh: ArrayLike<number>): ArrayLike<number> {
  let b = fresh;
  for (let i = 1; i < b.length; i++) {
    if (b[i] <= b[i - 1]) {
      b = [...new Set(Array.from(fresh))].sort((x, y) => x - y);
      break;
    }
  }
  if (sorted.length === 0) return b;
  const out: number[] = [];
  let i = 0;
  let j = 0;
  while (i < sorted.length || j < b.length) {
    const v = j >= b.length || (i < sorted.length && sorted[i] <= b[j]) ? sorted[i++] : b[j++];
    if (out.length === 0 || out[out.length - 1] !== v) out.push(v);
  }
  return out;
}

/**
 * The file's stats with `tightBounds: false`: min/max and null counts still describe every
 * physical row, so they stay valid (wider) bounds for skipping once some rows are deleted.
 */
function looseStats(stats: string | undefined | null): string | undefined {
  if (!stats) return undefined;
  try {
    const parsed = JSON.parse(stats) as Record<string, unknown>;
    parsed.tightBounds = false;
    return JSON.stringify(parsed);
  } catch {
    return stats;
  }
}

/** Best effort: DV files of an operation that did not commit are never referenced. */
export async function deleteUnusedDvFiles(ctx: TableContext, keys: string[]): Promise<void> {
  for (const k of keys) await ctx.store.delete(k).catch(() => {});
}

/**
 * Row positions per add.path from a query yielding `f` (the file's index in `files`: a scan's
 * `_file` with `fileIndex`, `files` its Scan.files) and `r` (the row's physical index, a scan's
 * `_row_index`).
 * DuckDB orders them (both cores), so each file's come as one ascending run (markRowsDeleted sorts
 * any that do not); they cross to JS as typed arrays, cut per file without a JS value per position.
 * A medium merge's 500,000 positions took 25 ms in DuckDB where per-file JSON texts (string_agg,
 * then JSON.parse) took 62; JS now spends more on them (about 30 ms of CPU against 11–21 in a
 * cold process: the client's objects per chunk), so the merge gained about 5% in all. Sorting
 * them in JS instead kept the main thread busy while the merge's file copy waited for it.
 */
export async function collectPositions(ctx: TableContext, sql: string, files: readonly AddFile[]): Promise<Map<string, Float64Array>> {
  const [indexes, rows] = await ctx.compute.integerColumns(`SELECT f::INTEGER AS f, r::BIGINT AS r FROM (${sql}) ORDER BY f, r`);
  const byPath = new Map<string, Float64Array>();
  for (const [i, positions] of splitByFile(indexes, rows)) {
    const file = files[i];
    if (!file) throw new RangeError(`collectPositions: file index ${i} is not one of the ${files.length} files scanned`);
    byPath.set(file.path, positions);
  }
  return byPath;
}

/**
 * Cuts (file, position) pairs into each file's positions: one subarray per file when the pairs come
 * ordered by file (as collectPositions asks DuckDB for), else each file's runs joined. Order within a
 * file is markRowsDeleted's to check (union sorts what is not ascending), so no order is assumed.
 */
export function splitByFile(files: Float64Array, rows: Float64Array): Map<number, Float64Array> {
  const runs = new Map<number, Float64Array[]>();
  for (let from = 0; from < files.length; ) {
    const f = files[from];
    let to = from + 1;
    while (to < files.length && files[to] === f) to++;
    const run = rows.subarray(from, to);
    const seen = runs.get(f);
    if (seen) seen.push(run);
    else runs.set(f, [run]);
    from = to;
  }
  const out = new Map<number, Float64Array>();
  for (const [f, parts] of runs) {
    if (parts.length === 1) {
      out.set(f, parts[0]);
      continue;
    }
    const joined = new Float64Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) {
      joined.set(p, at);
      at += p.length;
    }
    out.set(f, joined);
  }
  return out;
}
