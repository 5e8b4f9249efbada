import type { Compute } from '../../adapters/compute/compute.ts';
import { sqlString } from '../../adapters/compute/sql.ts';
import type { ObjectStore } from '../../adapters/storage/object-store.ts';
import type { Action } from './actions.ts';
import { ACTION_KEYS } from './actions.ts';
import { parseCommit } from './action-codec.ts';
import { localFileFor } from './materialize.ts';
import { CorruptLogError } from '../errors.ts';

/** The checkpoint's bytes cannot be decoded (truncated, not Parquet). Replay may fall back past it. */
export class UnreadableCheckpointError extends CorruptLogError {}

/**
 * Reads the actions of checkpoint files (classic single file, the parts of a multi-part checkpoint,
 * a V2 top-level checkpoint in JSON or Parquet, or V2 sidecars). Parquet is read by DuckDB and each
 * row turned into the same JSON shape as a commit line, so replay has one code path.
 */
export async function readCheckpointFiles(
  compute: Compute,
  store: ObjectStore,
  keys: string[],
  ctx: { tablePath: string; version: number },
): Promise<Action[]> {
  const jsonKeys = keys.filter((k) => k.endsWith('.json'));
  const parquetKeys = keys.filter((k) => !k.endsWith('.json'));
  const actions: Action[] = [];
  for (const key of jsonKeys) {
    const text = new TextDecoder().decode(await store.get(key));
    actions.push(...parseCommit(text, { ...ctx, file: key }));
  }
  if (parquetKeys.length > 0) {
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
    for (const { j } of rows) {
      const row = JSON.parse(j) as Record<string, unknown>;
      for (const key of ACTION_KEYS) {
        const value = row[key];
        if (value !== null && value !== undefined) {
          actions.push({ [key]: stripNulls(value) } as Action);
          break;
        }
      }
    }
  }
  return actions;
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
