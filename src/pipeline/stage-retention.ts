import type { BatchState } from './batch-state.ts';
import type { PipelineConfig } from './config.ts';
import type { Clock } from '../adapters/clock.ts';
import type { PipelineTables } from '../warehouse/warehouse.ts';

/**
 * Keeps the stage table from growing forever (seed 000 drops its staging table after each MERGE):
 * rows of finished batches are deleted once they are older than `stage.retain` (or right after the
 * MERGE with `truncate-after-merge`), and the files they lived in are vacuumed.
 *
 * Only batches up to the last one with every earlier batch finished are touched: a batch still in
 * flight (planned, staged, not yet merged or logged) keeps its rows, so a crash is still recovered
 * from the stage. How rows are removed (and their files freed) is the warehouse's business.
 */
export interface StageRetentionResult {
  deletedRows: number;
  vacuumedFiles: number;
  upToBatch: number;
}

export async function applyStageRetention(tables: PipelineTables, pipeline: PipelineConfig, state: BatchState, clock: Clock): Promise<StageRetentionResult | undefined> {
  const retain = pipeline.stageRetain;
  if (retain === 'forever') return undefined;
  const upToBatch = finishedPrefix(state);
  if (upToBatch === 0) return undefined;
  const olderThan = retain === 'truncate-after-merge' ? undefined : clock.now() - retain;
  // No finished batch is old enough yet (every stage row carries its batch's ingestedAt): the
  // delete could match nothing, so the stage table is not scanned after every batch for it.
  if (olderThan !== undefined && !state.all().some((b) => b.manifest.seq <= upToBatch && b.manifest.ingestedAt < olderThan)) {
    return { deletedRows: 0, vacuumedFiles: 0, upToBatch };
  }
  return { ...(await tables.retainStage(upToBatch, olderThan)), upToBatch };
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
