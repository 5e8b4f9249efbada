import type { Compute } from '../../adapters/compute/compute.ts';
import { sqlString } from '../../adapters/compute/sql.ts';
import type { ObjectStore } from '../../adapters/storage/object-store.ts';
import type { Action } from './actions.ts';
import { ACTION_KEYS } from './actions.ts';
import { parseCommit } from './action-codec.ts';
import { localFileFor } from './materialize.ts';
import { CorruptLogError } from '../errors.ts';
import { readParquetRows } from './parquet-lite/read-rows.ts';
import { SHORT_RUN_ROWS, withoutOptimizer } from './parquet-lite/short-run.ts';
import { readFooter } from './parquet-lite/footer.ts';

/** The checkpoint's bytes cannot be decoded (truncated, not Parquet). Replay may fall back past it. */
export class UnreadableCheckpointError extends CorruptLogError {}

/**
 * Reads the actions of checkpoint files (classic single file, the parts of a multi-part checkpoint,
 * a V2 top-level checkpoint in JSON or Parquet, or V2 sidecars). Each Parquet row is turned into
 * the same JSON shape as a commit line, so replay has one code path.
 *
 * Parquet is decoded directly (parquet-lite: the footer, the action columns, snappy/gzip/plain
 * pages) when the files stay within what it reads, which lakelet's own checkpoints do: that skips
 * starting DuckDB and a JSON round trip per action. Anything else (zstd, an unusual type or
 * encoding, a damaged file) is read by DuckDB as before, which also reports damage with the
 * typed error. `direct: false` forces the DuckDB path (tests compare the two). `tombstones: false`
 * lets the direct read leave out the remove actions, for a reader that keeps none (a snapshot).
 */
export async function readCheckpointFiles(
  compute: Compute,
  store: ObjectStore,
  keys: string[],
  ctx: { tablePath: string; version: number },
  options: { direct?: boolean; tombstones?: boolean } = {},
): Promise<Action[]> {
  const jsonKeys = keys.filter((k) => k.endsWith('.json'));
  const parquetKeys = keys.filter((k) => !k.endsWith('.json'));
  const actions: Action[] = [];
  for (const key of jsonKeys) {
    const text = new TextDecoder().decode(await store.get(key));
    actions.push(...parseCommit(text, { ...ctx, file: key }));
  }
  const direct = parquetKeys.length > 0 && options.direct !== false ? await readDirect(store, parquetKeys, options.tombstones === false ? LIVE_COLUMNS : ACTION_COLUMNS) : undefined;
  if (direct) {
    // Index loops here and below: the decode runs unoptimised (short-run.ts), where for-of over
    // 10,000 rows allocates an iterator result per row.
    for (let i = 0; i < direct.length; i++) pushAction(actions, direct[i], false);
  } else if (parquetKeys.length > 0) {
    const paths = await Promise.all(parquetKeys.map((k) => localFileFor(store, k)));
    const list = `[${paths.map(sqlString).join(', ')}]`;
    let rows: { j: string }[];
    try {
      rows = await compute.query<{ j: string }>(
        `SELECT to_json(t)::VARCHAR AS j FROM read_parquet(${list}, union_by_name = true, hive_partitioning = false) t`,
      );
    } catch (err) {
      throw new UnreadableCheckpointError(
        ctx.tablePath,
        `checkpoint at version ${ctx.version} (${parquetKeys.join(', ')}) cannot be read: ${(err as Error).message}. ` +
          'Delete the damaged checkpoint file so readers replay the JSON commits instead.',
        { cause: err, version: ctx.version },
      );
    }
    for (const { j } of rows) pushAction(actions, JSON.parse(j) as Record<string, unknown>);
  }
  return actions;
}

const ACTION_COLUMNS: ReadonlySet<string> = new Set(ACTION_KEYS);
/** Without `remove`: a checkpoint's removes are tombstones, which a snapshot does not keep (a third of the columns). */
const LIVE_COLUMNS: ReadonlySet<string> = new Set(ACTION_KEYS.filter((k) => k !== 'remove'));
/** As stripNulls: a null partitionValues stays (see there). */
const KEEP_NULL: ReadonlySet<string> = new Set(['partitionValues']);
/**
 * Read on first use (lazy-strings.ts): the stats are most of a checkpoint's bytes, and opening a
 * snapshot needs none of them; a scan, data skipping or the checkpoint writer read them later.
 */
const LAZY_STRINGS: ReadonlySet<string> = new Set(['add.stats']);

/** The rows of every file by parquet-lite, or undefined when any file is outside what it reads. */
async function readDirect(store: ObjectStore, keys: string[], columns: ReadonlySet<string>): Promise<Record<string, unknown>[] | undefined> {
  const rows: Record<string, unknown>[] = [];
  for (const key of keys) {
    let bytes: Uint8Array;
    try {
      bytes = await store.get(key);
    } catch {
      return undefined; // the DuckDB path reports a missing file as it always has
    }
    try {
      // Null fields left out as they are decoded: what stripNulls would do, without a second pass.
      const footer = readFooter(bytes);
      const decode = () => readParquetRows(bytes, { columns, omitNullFields: true, keepNullFields: KEEP_NULL, lazyStrings: LAZY_STRINGS, footer });
      // Counted in rows, not bytes: the stats (most of the bytes) are not decoded here.
      const rowCount = footer.rowGroups.reduce((n, rg) => n + rg.numRows, 0);
      const decoded = rowCount <= SHORT_RUN_ROWS ? withoutOptimizer(decode) : decode();
      if (keys.length === 1) return decoded; // a classic checkpoint: no copy into `rows`
      for (const row of decoded) rows.push(row);
    } catch {
      // Unsupported or damaged: DuckDB reads it, or raises the typed error for damage.
      return undefined;
    }
  }
  return rows;
}

/** A checkpoint row holds one action: the first action column that is not null. */
function pushAction(actions: Action[], row: Record<string, unknown>, strip = true): void {
  for (let i = 0; i < ACTION_KEYS.length; i++) {
    const key = ACTION_KEYS[i];
    const value = row[key];
    if (value !== null && value !== undefined) {
      // A directly decoded row without other fields already is the action: no copy per file.
      if (!strip && onlyField(row)) actions.push(row as Action);
      else actions.push({ [key]: strip ? stripNulls(value) : value } as Action);
      return;
    }
  }
}

function onlyField(row: Record<string, unknown>): boolean {
  let n = 0;
  for (const _ in row) if (++n > 1) return false;
  return true;
}

/** Parquet turns absent optional fields into nulls; JSON commits omit them. Normalise to omitted. */
function stripNulls(value: unknown): unknown {
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      // partitionValues keep their null entries: a null partition value is meaningful.
      if (v === null && k !== 'partitionValues') continue;
      out[k] = k === 'partitionValues' || k === 'configuration' || k === 'options' || k === 'tags' ? v : stripNulls(v);
    }
    return out;
  }
  return value;
}
