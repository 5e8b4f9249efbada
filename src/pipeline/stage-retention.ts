import type { BatchState } from './batch-state.ts';
import type { PipelineConfig } from './config.ts';
import type { Clock } from '../engine/clock.ts';
import type { DeltaTable } from '../engine/table.ts';

/**
 * Keeps the stage table from growing forever (seed 000 drops its staging table after each MERGE):
 * rows of finished batches are deleted once they are older than `stage.retain` (or right after the
 * MERGE with `truncate-after-merge`), and the files they lived in are vacuumed.
 *
 * Only batches up to the last one with every earlier batch finished are touched: a batch still in
 * flight (planned, staged, not yet merged or logged) keeps its rows, so a crash is still recovered
 * from the stage. The stage is the pipeline's own table, read only under the pipeline's lock, so
 * its removed files are vacuumed at once instead of after the usual 7-day retention.
 */
export interface StageRetentionResult {
  deletedRows: number;
  vacuumedFiles: number;
  upToBatch: number;
}

export async function applyStageRetention(stage: DeltaTable, pipeline: PipelineConfig, state: BatchState, clock: Clock): Promise<StageRetentionResult | undefined> {
  const retain = pipeline.stageRetain;
  if (retain === 'forever') return undefined;
  const upToBatch = finishedPrefix(state);
  if (upToBatch === 0 || !(await stage.tryLatest())) return undefined;
  const predicate =
    retain === 'truncate-after-merge'
      ? `_batch <= ${upToBatch}`
      : `_batch <= ${upToBatch} AND _ingested_at < CAST(epoch_ms(CAST(${clock.now() - retain} AS BIGINT)) AS TIMESTAMPTZ)`;
  const deleted = await stage.delete(predicate).execute();
  const deletedRows = deleted.skipped ? 0 : Number(deleted.metrics.numDeletedRows);
  if (deletedRows === 0) return { deletedRows: 0, vacuumedFiles: 0, upToBatch };
  const vacuum = await stage.vacuum().retentionMillis(0).retentionCheck(false).execute();
  return { deletedRows, vacuumedFiles: vacuum.metrics.numDeletedFiles, upToBatch };
}

/** The highest batch seq such that it and every earlier batch are finished (0 when none). */
function finishedPrefix(state: BatchState): number {
  const unfinished = state.unfinished();
  const all = state.all();
  const firstOpen = unfinished.length ? unfinished[0].seq : Infinity;
  let up = 0;
  for (const b of all) if (b.done && b.manifest.seq < firstOpen) up = Math.max(up, b.manifest.seq);
  return up;
}
