import { PipelineStateError } from './errors.ts';
import { batchWorkDir } from './work-dir.ts';
import type { BatchManifest } from './batch-state.ts';
import type { PipelineRuntime } from './runtime.ts';

/** The runtime lives in runtime.ts (shared with batch-prepare.ts); re-exported for callers that take it from here. */
export type { PipelineRuntime };

/**
 * One batch of one pipeline, start to finish. The steps, each idempotent, each safe to redo after a
 * crash at any point:
 *
 *   plan        hash and validate every file; write the manifest (create-only)      → after-manifest
 *   quarantine  move rejected files to quarantine/ with <name>.error.json            → after-quarantine
 *   stage       append the batch's rows, txn lakelet:<p>:stage @ seq                  → after-stage-commit
 *   archive     move staged and duplicate files to archive/ (create-only, then delete) → after-archive
 *   target      MERGE the stage rows with _batch = seq, txn lakelet:<p>:target @ seq   → after-target-commit
 *   log         append the ingestion-log rows, txn lakelet:<p>:log @ seq              → after-log
 *   done        the manifest's done marker
 *
 * A redo decides from the txn versions in the tables whether a commit already happened, and from
 * the landing folder whether a file was already moved. Planning is in batch-plan.ts, the steps in
 * batch-steps.ts; this file holds what both share.
 */
export interface BatchOutcome {
  seq: number;
  recovered: boolean;
  files: number;
  staged: number;
  quarantined: number;
  duplicates: number;
  rowsStaged: number;
  rowsInserted: number;
  rowsUpdated: number;
  rowsDeleted: number;
  /** Stage rows collapsed by the MERGE's one-row-per-key dedup (MERGE metric numSourceRowsDeduplicated). */
  rowsDeduplicated: number;
  rowsRejected: number;
  stageVersion: number | null;
  targetVersion: number | null;
  ms: number;
}


export function hasRows(manifest: BatchManifest): boolean {
  return manifest.files.some((f) => f.outcome === 'stage' && (f.records ?? 0) > 0);
}

/**
 * Txn versions only grow, so a batch's step may not run ahead of an earlier unfinished batch's
 * (staging batch N+1 before N would make N look staged). `beforeSeq`: the batch about to run.
 */
export async function earlierBatchesFirst(rt: PipelineRuntime, step: 'stage' | 'target' | 'log', beforeSeq: number): Promise<void> {
  const { ledger } = rt.tables;
  const applied = step === 'log' ? await rt.log.appliedVersion(rt.pipeline.name) : 0;
  for (const m of rt.state.unfinished()) {
    if (m.seq >= beforeSeq) continue;
    const pending =
      step === 'log' ? applied < m.seq : hasRows(m) && (step === 'stage' ? await ledger.stageVersion(m.seq) : await ledger.targetVersion(m.seq)) === undefined;
    if (!pending) continue;
    if (step === 'stage') throw new PipelineStateError(rt.pipeline.name, `batch ${m.seq} is planned but not staged yet; finish it first (lakelet run --once does).`);
    throw new PipelineStateError(rt.pipeline.name, `batch ${m.seq} must be ${step === 'target' ? 'merged' : 'logged'} before batch ${beforeSeq} (txn versions only grow).`);
  }
}

/** Where a batch keeps its normalized inputs and its stage Parquet until it is done. */
export function workDir(rt: PipelineRuntime, seq: number): string {
  return batchWorkDir(rt.pipeline.stateDir, seq);
}
