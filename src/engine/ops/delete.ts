import type { Action, AddCDCFile, AddFile } from '../delta/actions.ts';
import type { Predicate } from '../delta/skipping.ts';
import type { TableHandle } from '../table-handle.ts';
import type { OperationResult } from './operation-result.ts';
import { sqlString } from '../../adapters/compute/sql.ts';
import { columnMappingMode } from '../delta/column-mapping.ts';
import { writeDataFiles } from '../delta/data-writer.ts';
import { planFiles, scanSnapshot, withMissingFileCheck } from '../delta/scan.ts';
import { commit } from '../delta/transaction.ts';
import { CHANGE_TYPE_COLUMN, isChangeDataFeedEnabled, writeChangeDataFiles } from './cdf.ts';
import { countMatches, countRows, evaluate, isTrue, matchByPartition, removeFor, totalBytes } from './file-selection.ts';
import { InputError, NotATableError } from '../errors.ts';
import { collectPositions, deleteUnusedDvFiles, deletionVectorsEnabled, markRowsDeleted, type DvMarkResult } from './deletion-vectors.ts';

export interface DeleteMetrics {
  numRemovedFiles: number;
  numAddedFiles: number;
  numDeletedRows: number;
  numCopiedRows: number;
  numAddedChangeFiles: number;
  numRemovedBytes: number;
  numAddedBytes: number;
  /** Files that got a deletion vector / whose deletion vector grew (tables with DVs on). */
  numDeletionVectorsAdded: number;
  numDeletionVectorsUpdated: number;
  executionTimeMs: number;
  /** Planning and finding the matching rows. */
  scanTimeMs: number;
  /** Writing the surviving rows (and change data). */
  rewriteTimeMs: number;
}

/**
 * DELETE FROM table [WHERE predicate]. Files are pruned by partition values and stats; a predicate
 * over partition columns only is decided per file without reading data. Of the remaining files,
 * those without a matching row are left alone, those where every row matches are removed without
 * rewriting, and the others are rewritten with their non-matching rows. A row whose predicate is
 * NULL is kept (SQL semantics). On a table with `delta.enableDeletionVectors=true` the partially
 * matching files are not rewritten: their matching rows are marked in a deletion vector. With the change data feed on, deleted rows are also written as
 * `delete` change data.
 */
export class DeleteBuilder {
  private _predicate: string | undefined;

  constructor(
    private readonly table: TableHandle,
    predicate?: string,
  ) {
    this._predicate = predicate;
  }

  /** Only rows matching this SQL predicate (over the table's columns) are deleted. */
  where(predicate: string): this {
    this._predicate = predicate;
    return this;
  }

  async execute(): Promise<OperationResult<DeleteMetrics>> {
    const started = Date.now();
    const ctx = this.table.ctx;
    const snapshot = await this.table.tryLatest();
    if (!snapshot) throw new NotATableError(ctx.uri);
    if (snapshot.configuration['delta.appendOnly'] === 'true') {
      throw new InputError(`${ctx.uri}: the table is append-only (delta.appendOnly=true); DELETE is not allowed.`);
    }
    const predicate = this._predicate?.trim() ? this._predicate.trim() : undefined;
    const cdf = isChangeDataFeedEnabled(snapshot);

    // 1. Which files lose rows: `whole` lose all of them, `partial` some (with their match counts).
    let candidates: AddFile[];
    let scope: 'all' | Predicate = 'all';
    let whole: AddFile[] = [];
    let partial: { file: AddFile; matched: number }[] = [];
    let deletedRows = 0;
    let counted = false;
    if (!predicate) {
      candidates = snapshot.files;
      whole = candidates;
    } else {
      const planned = await planFiles(snapshot, predicate);
      candidates = planned.kept;
      scope = planned.predicate!;
      const byPartition = await matchByPartition(snapshot, candidates, predicate);
      if (byPartition) {
        whole = candidates.filter((_, i) => byPartition[i]);
      } else {
        const counts = await countMatches(snapshot, candidates, predicate);
        counted = true;
        for (const c of counts) {
          if (c.matched === 0) continue;
          if (c.matched === c.total) whole.push(c.file);
          else partial.push({ file: c.file, matched: c.matched });
          deletedRows += c.matched;
        }
      }
    }
    // Wholly removed files decided without reading them: their row counts from stats (or a count).
    if (!counted) deletedRows = await countRows(snapshot, whole);
    const scanTimeMs = Date.now() - started;
    if (whole.length === 0 && partial.length === 0) {
      return {
        version: snapshot.version,
        snapshot,
        metrics: { ...zeroMetrics(), executionTimeMs: Date.now() - started, scanTimeMs },
        skipped: 'no rows matched the predicate; nothing to delete',
      };
    }

    // 2. Rewrite the partially matching files with the rows that stay (or, with deletion vectors,
    // mark the matching rows deleted in place); record change data.
    const rewriteStarted = Date.now();
    const partialFiles = partial.map((p) => p.file);
    let adds: AddFile[] = [];
    let copiedRows = 0;
    let addedBytes = 0;
    let dv: DvMarkResult | undefined;
    if (partialFiles.length > 0 && deletionVectorsEnabled(snapshot)) {
      const scan = await scanSnapshot(snapshot, { files: partialFiles, withFileInfo: true, fileIndex: true });
      try {
        const positions = await withMissingFileCheck(snapshot, partialFiles, () =>
          evaluate(snapshot, predicate!, () => collectPositions(ctx, `SELECT _file AS f, _row_index AS r FROM (${scan.sql}) WHERE ${isTrue(predicate!)}`, scan.files)),
        );
        dv = await markRowsDeleted(ctx, snapshot, partialFiles, positions, ctx.clock.now(), scan.deletedRows);
      } finally {
        await scan.release();
      }
    } else if (partialFiles.length > 0) {
      const scan = await scanSnapshot(snapshot, { files: partialFiles });
      try {
        const written = await withMissingFileCheck(snapshot, partialFiles, () =>
          evaluate(snapshot, predicate!, () =>
            writeDataFiles(ctx, `SELECT * FROM (${scan.sql}) WHERE NOT ${isTrue(predicate!)}`, {
              schema: snapshot.schema,
              partitionColumns: snapshot.partitionColumns,
              mappingMode: columnMappingMode(snapshot.metadata),
              configuration: snapshot.configuration,
            }),
          ),
        );
        adds = written.adds;
        copiedRows = written.numOutputRows;
        addedBytes = written.numOutputBytes;
      } finally {
        await scan.release();
      }
    }
    let cdc: AddCDCFile[] = [];
    if (cdf) {
      // Every deleted row, also those of wholly removed files: once a version has cdc actions,
      // readers take its changes from them alone.
      const touched = [...whole, ...partialFiles];
      const scan = await scanSnapshot(snapshot, { files: touched });
      try {
        const filter = predicate ? ` WHERE ${isTrue(predicate)}` : '';
        cdc = await withMissingFileCheck(snapshot, touched, () =>
          writeChangeDataFiles(ctx, snapshot, `SELECT *, ${sqlString('delete')} AS ${CHANGE_TYPE_COLUMN} FROM (${scan.sql})${filter}`),
        );
      } finally {
        await scan.release();
      }
    }
    const rewriteTimeMs = Date.now() - rewriteStarted;

    // 3. Commit.
    const now = ctx.clock.now();
    const rewritten = dv ? [] : partialFiles;
    const removed = [...whole, ...rewritten, ...(dv?.filesRemoved ?? [])];
    const actions: Action[] = [
      ...[...whole, ...rewritten].map((f) => removeFor(f, now, true)),
      ...(dv?.actions ?? []),
      ...adds.map((add) => ({ add })),
      ...cdc.map((c) => ({ cdc: c })),
    ];
    const metrics: DeleteMetrics = {
      numRemovedFiles: removed.length,
      numAddedFiles: adds.length,
      numDeletedRows: deletedRows,
      numCopiedRows: copiedRows,
      numAddedChangeFiles: cdc.length,
      numRemovedBytes: totalBytes(removed),
      numAddedBytes: addedBytes,
      numDeletionVectorsAdded: dv?.dvAdded ?? 0,
      numDeletionVectorsUpdated: dv?.dvUpdated ?? 0,
      executionTimeMs: 0,
      scanTimeMs,
      rewriteTimeMs,
    };
    metrics.executionTimeMs = Date.now() - started;
    const result = await commit(ctx, {
      read: snapshot,
      actions,
      operation: 'DELETE',
      operationParameters: { predicate: predicate ? [predicate] : [] },
      operationMetrics: { ...metrics },
      readSet: { files: candidates, scope },
    }).catch(async (err: unknown) => {
      await deleteUnusedDvFiles(ctx, dv?.written ?? []);
      throw err;
    });
    return { version: result.version, snapshot: result.snapshot, metrics };
  }
}

function zeroMetrics(): DeleteMetrics {
  return {
    numRemovedFiles: 0,
    numAddedFiles: 0,
    numDeletedRows: 0,
    numCopiedRows: 0,
    numAddedChangeFiles: 0,
    numRemovedBytes: 0,
    numAddedBytes: 0,
    numDeletionVectorsAdded: 0,
    numDeletionVectorsUpdated: 0,
    executionTimeMs: 0,
    scanTimeMs: 0,
    rewriteTimeMs: 0,
  };
}
