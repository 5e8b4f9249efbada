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
import { parseStats } from '../../delta/stats.ts';
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
