/**
 * A source lined up with its target files: when the source keys strictly increase, every one of
 * them lies within the candidate files' (disjoint) key ranges, and those files hold exactly as many
 * rows as the source, the source may be the very rows of those files in key order (a re-sent
 * extract, an update of whole files). Then the join is a pairing by position (DuckDB's POSITIONAL
 * JOIN: two streams side by side, no hash table), about three times cheaper than the hash join.
 * Each pair is checked against the join condition in the same pass; a pair that fails it (a key
 * missing on one side, files not in key order) is marked, and the merge joins again by key. Pairs
 * that all satisfy the condition are exactly the hash join's matches: the source keys are unique
 * (they increase), so each target key paired with one is unique too, and no other row matches.
 */
import type { AddFile } from '../../delta/actions.ts';
import type { StructField } from '../../delta/schema.ts';
import { parseStats } from '../../delta/stats.ts';
import { deltaTypeToDuckDb } from '../../delta/duckdb-types.ts';
import { sqlString } from '../../../adapters/compute/sql.ts';
import type { MergePlan, MergeSource } from './plan.ts';

/**
 * The code of a positional pair that fails the join condition: not a clause code (those are 1-99,
 * 101-199, 201-299; -1, 0 and 200 mean "no clause"). The general acted-on filter `__code % 100 > 0`
 * would drop it (-100 % 100 is 0), so the positional join keeps its own filter (join.ts `acted`):
 * a failed pair that vanished would skip the redo by key and lose the rows it stands for.
 */
export const CODE_MISALIGNED = -100;

/**
 * Whether the source may pair with the candidate files by position (see above); the pairing itself
 * still checks every pair. `partitioned`: the scan of a partitioned table joins each row to its
 * file's partition values, which need not keep the rows in order, so it is not paired.
 */
export function mayPairByPosition(plan: MergePlan, source: MergeSource, partitioned: boolean): boolean {
  const order = plan.keyOrder;
  // Every target row matters to a NOT MATCHED BY SOURCE clause: no pruning, no key order.
  if (!order || !order.increasing || plan.bySource.length > 0 || partitioned) return false;
  const sourceRows = source.numSourceRows - source.numSourceRowsDeduplicated;
  if (sourceRows === 0 || order.inRange !== sourceRows) return false;
  let targetRows = 0;
  for (const f of plan.candidates) {
    // A deletion vector hides rows from the scan: its positions would no longer line up.
    if (f.deletionVector) return false;
    const n = parseStats(f.stats)?.numRecords;
    if (typeof n !== 'number') return false;
    targetRows += n;
  }
  return targetRows === sourceRows;
}

/**
 * One part of a pairing split for the cores: the scan's files `fromFile`..`toFile` (indexes, in key
 * order) side by side with the source rows whose key lies in [`lo`, `hi`] (SQL constants, the first
 * file's lower bound and the last one's upper bound).
 */
export interface PairingPart {
  fromFile: number;
  toFile: number;
  lo: string;
  hi: string;
}

/**
 * Source rows per part below which splitting does not pay: what a part's key filter skips is the
 * source's row groups (DuckDB writes 122,880 rows to one), and one positional join of 100,000 rows
 * took as long as two halves (4.5–7 ms).
 */
export const MIN_PART_ROWS = 131_072;

const INTEGER_KEYS = new Set(['byte', 'short', 'integer', 'long']);

/**
 * A positional join runs on one thread (DuckDB pairs the two streams in order): a million pairs took
 * ~40 ms of one core, of which reading the two sides in parallel is ~24. Split into parts of
 * consecutive files, each paired with the source rows in its key range, and joined by UNION ALL,
 * the parts run side by side, and each reads only its share of the source, since the key filter
 * skips the source's other row groups (by their statistics; a filter on the row number skips none).
 * On 2 cores, 2 parts took 24–26 ms where one took 40–50; 5 or 10 parts were slower again.
 *
 * Correct whatever the source holds: the parts' key ranges are disjoint (the files' are), so a
 * source row lies in at most one part; a part whose source rows are not exactly its files' rows, in
 * order, pairs some row with another key or with nothing (the shorter side is padded with NULLs),
 * and that pair fails the join condition, which sends the merge to the join by key (merge.ts).
 * Undefined when a split does not apply: too few rows or cores, a non-integer key, a file without
 * integer bounds or a row count.
 */
export function pairingParts(files: AddFile[], key: StructField, physical: string, threads: number | undefined, sourceRows: number): PairingPart[] | undefined {
  const wanted = Math.min(threads ?? 1, files.length, Math.floor(sourceRows / MIN_PART_ROWS));
  if (wanted < 2 || typeof key.type !== 'string' || !INTEGER_KEYS.has(key.type)) return undefined;
  const bounds = files.map((f) => {
    const stats = parseStats(f.stats);
    return { rows: stats?.numRecords, lo: integerText(stats?.minValues?.[physical]), hi: integerText(stats?.maxValues?.[physical]) };
  });
  if (bounds.some((b) => typeof b.rows !== 'number' || b.lo === undefined || b.hi === undefined)) return undefined;
  const type = deltaTypeToDuckDb(key.type);
  const literal = (v: string) => `CAST(${sqlString(v)} AS ${type})`;
  const total = bounds.reduce((n, b) => n + b.rows!, 0);
  const parts: PairingPart[] = [];
  let from = 0;
  let rows = 0;
  for (let i = 0; i < files.length; i++) {
    rows += bounds[i].rows!;
    const last = i === files.length - 1;
    if (last || (parts.length < wanted - 1 && rows >= (total * (parts.length + 1)) / wanted)) {
      parts.push({ fromFile: from, toFile: i, lo: literal(bounds[from].lo!), hi: literal(bounds[i].hi!) });
      from = i + 1;
    }
  }
  return parts.length >= 2 ? parts : undefined;
}

/** An integer bound from the stats as exact text (a JSON number past 2^53 may have been rounded). */
function integerText(v: unknown): string | undefined {
  if (typeof v === 'number') return Number.isSafeInteger(v) ? String(v) : undefined;
  if (typeof v === 'string' && /^-?\d+$/.test(v)) return v;
  if (typeof v === 'bigint') return v.toString();
  return undefined;
}
