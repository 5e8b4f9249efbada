/** The metrics a MERGE reports (Delta's names), committed in commitInfo.operationMetrics. */
import type { AddFile } from '../../delta/actions.ts';
import type { RowDecisions } from './join.ts';
import type { MergeSource } from './plan.ts';

export interface MergeMetrics {
  numSourceRows: number;
  /** Source rows dropped by dedupBy before the merge. */
  numSourceRowsDeduplicated: number;
  numTargetRowsInserted: number;
  numTargetRowsUpdated: number;
  numTargetRowsMatchedUpdated: number;
  numTargetRowsNotMatchedBySourceUpdated: number;
  numTargetRowsDeleted: number;
  numTargetRowsMatchedDeleted: number;
  numTargetRowsNotMatchedBySourceDeleted: number;
  numTargetRowsCopied: number;
  numOutputRows: number;
  numTargetFilesAdded: number;
  numTargetFilesRemoved: number;
  numTargetFilesScanned: number;
  numTargetFilesSkipped: number;
  numTargetBytesAdded: number;
  numTargetBytesRemoved: number;
  /** Deletion vectors written for files that had none / replacing a file's DV (tables with DVs on). */
  numTargetDeletionVectorsAdded: number;
  numTargetDeletionVectorsUpdated: number;
  executionTimeMs: number;
  scanTimeMs: number;
  rewriteTimeMs: number;
}

export interface MetricInputs {
  source: MergeSource;
  decisions: RowDecisions;
  /** What the merge wrote: data files and the rows in them. */
  written: { adds: AddFile[]; numOutputRows: number; numOutputBytes: number };
  removedFiles: AddFile[];
  deletionVectors?: { dvAdded: number; dvUpdated: number };
  candidates: AddFile[];
  /** Active files of the target before the merge. */
  targetFiles: number;
  scanTimeMs: number;
  rewriteTimeMs: number;
}

export function mergeMetrics(m: MetricInputs): MergeMetrics {
  const numInserted = m.decisions.rowsOf('not-matched-insert');
  const matchedUpdated = m.decisions.rowsOf('matched-update');
  const bySourceUpdated = m.decisions.rowsOf('by-source-update');
  const matchedDeleted = m.decisions.rowsOf('matched-delete');
  const bySourceDeleted = m.decisions.rowsOf('by-source-delete');
  const numOutputRows = m.written.numOutputRows;
  return {
    numSourceRows: m.source.numSourceRows,
    numSourceRowsDeduplicated: m.source.numSourceRowsDeduplicated,
    numTargetRowsInserted: numInserted,
    numTargetRowsUpdated: matchedUpdated + bySourceUpdated,
    numTargetRowsMatchedUpdated: matchedUpdated,
    numTargetRowsNotMatchedBySourceUpdated: bySourceUpdated,
    numTargetRowsDeleted: matchedDeleted + bySourceDeleted,
    numTargetRowsMatchedDeleted: matchedDeleted,
    numTargetRowsNotMatchedBySourceDeleted: bySourceDeleted,
    numTargetRowsCopied: numOutputRows - numInserted - matchedUpdated - bySourceUpdated,
    numOutputRows,
    numTargetFilesAdded: m.written.adds.length,
    numTargetFilesRemoved: m.removedFiles.length,
    numTargetFilesScanned: m.candidates.length,
    numTargetFilesSkipped: m.targetFiles - m.candidates.length,
    numTargetBytesAdded: m.written.numOutputBytes,
    numTargetBytesRemoved: m.removedFiles.reduce((a, f) => a + f.size, 0),
    numTargetDeletionVectorsAdded: m.deletionVectors?.dvAdded ?? 0,
    numTargetDeletionVectorsUpdated: m.deletionVectors?.dvUpdated ?? 0,
    executionTimeMs: 0,
    scanTimeMs: m.scanTimeMs,
    rewriteTimeMs: m.rewriteTimeMs,
  };
}

export function emptyMetrics(): MergeMetrics {
  return {
    numSourceRows: 0, numSourceRowsDeduplicated: 0, numTargetRowsInserted: 0, numTargetRowsUpdated: 0, numTargetRowsMatchedUpdated: 0,
    numTargetRowsNotMatchedBySourceUpdated: 0, numTargetRowsDeleted: 0, numTargetRowsMatchedDeleted: 0, numTargetRowsNotMatchedBySourceDeleted: 0,
    numTargetRowsCopied: 0, numOutputRows: 0, numTargetFilesAdded: 0, numTargetFilesRemoved: 0, numTargetFilesScanned: 0, numTargetFilesSkipped: 0,
    numTargetBytesAdded: 0, numTargetBytesRemoved: 0, numTargetDeletionVectorsAdded: 0, numTargetDeletionVectorsUpdated: 0, executionTimeMs: 0, scanTimeMs: 0, rewriteTimeMs: 0,
  };
}
