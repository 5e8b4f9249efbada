import type { Action, AddCDCFile, AddFile } from '../delta/actions.ts';
import type { StructField } from '../delta/schema.ts';
import type { Predicate } from '../delta/skipping.ts';
import type { TableHandle } from '../table-handle.ts';
import type { OperationResult } from './operation-result.ts';
import { sqlIdent, sqlString } from '../../adapters/compute/sql.ts';
import { columnMappingMode } from '../delta/column-mapping.ts';
import { enforceConstraints, tableConstraints } from '../delta/constraints.ts';
import { writeDataFiles } from '../delta/data-writer.ts';
import { deltaTypeToDuckDb } from '../delta/duckdb-types.ts';
import { planFiles, scanSnapshot, withMissingFileCheck } from '../delta/scan.ts';
import { commit } from '../delta/transaction.ts';
import { CHANGE_TYPE_COLUMN, isChangeDataFeedEnabled, writeChangeDataFiles } from './cdf.ts';
import { countMatches, evaluate, isTrue, matchByPartition, removeFor, totalBytes } from './file-selection.ts';
import { InputError, NotATableError } from '../errors.ts';
import { collectPositions, deleteUnusedDvFiles, deletionVectorsEnabled, markRowsDeleted, type DvMarkResult } from './deletion-vectors.ts';

export interface UpdateMetrics {
  numUpdatedRows: number;
  numCopiedRows: number;
  numAddedFiles: number;
  numRemovedFiles: number;
  numAddedChangeFiles: number;
  numAddedBytes: number;
  numRemovedBytes: number;
  /** Files that got a deletion vector / whose deletion vector grew (tables with DVs on). */
  numDeletionVectorsAdded: number;
  numDeletionVectorsUpdated: number;
  executionTimeMs: number;
  scanTimeMs: number;
  rewriteTimeMs: number;
}

let updateCounter = 0;

/**
 * UPDATE table SET col = expr, … [WHERE predicate]. Only files holding a matching row are read and
 * rewritten: each row becomes `CASE WHEN predicate THEN expr ELSE col END` per assigned column (all
 * expressions see the row's old values). The rewritten rows are computed once into a DuckDB temp
 * table, checked against the table's NOT NULL and CHECK constraints (a violation fails the update
 * before anything is written), then written; with the change data feed on, matched rows are also
 * recorded as `update_preimage` / `update_postimage` change data. On a table with
 * `delta.enableDeletionVectors=true` only the updated rows are written: their old copies are marked
 * in a deletion vector of their file, and the file's other rows stay where they are.
 */
export class UpdateBuilder {
  private readonly assignments = new Map<string, string>();
  private _predicate: string | undefined;

  constructor(
    private readonly table: TableHandle,
    set: Record<string, string> = {},
    predicate?: string,
  ) {
    for (const [column, expr] of Object.entries(set)) this.set(column, expr);
    this._predicate = predicate;
  }

  /** Assigns `column` the SQL expression `expression` (over the row's old values) in matching rows. */
  set(column: string, expression: string): this {
    this.assignments.set(column, expression);
    return this;
  }

  where(predicate: string): this {
    this._predicate = predicate;
    return this;
  }

  async execute(): Promise<OperationResult<UpdateMetrics>> {
    const started = Date.now();
    const ctx = this.table.ctx;
    const snapshot = await this.table.tryLatest();
    if (!snapshot) throw new NotATableError(ctx.uri);
    if (snapshot.configuration['delta.appendOnly'] === 'true') {
      throw new InputError(`${ctx.uri}: the table is append-only (delta.appendOnly=true); UPDATE is not allowed.`);
    }
    const fields = snapshot.schema.fields;
    const assigned = new Map<StructField, string>();
    for (const [column, expression] of this.assignments) {
      const field = fields.find((f) => f.name.toLowerCase() === column.toLowerCase());
      if (!field) throw new InputError(`${ctx.uri}: UPDATE sets column '${column}', which the table does not have (columns: ${fields.map((f) => f.name).join(', ')}).`);
      if (assigned.has(field)) throw new InputError(`${ctx.uri}: UPDATE sets column '${field.name}' more than once.`);
      if (!expression.trim()) throw new InputError(`${ctx.uri}: UPDATE sets column '${field.name}' to an empty expression.`);
      assigned.set(field, expression);
    }
    if (assigned.size === 0) throw new InputError(`${ctx.uri}: UPDATE needs at least one column to set (set(column, expression)).`);
    const predicate = this._predicate?.trim() ? this._predicate.trim() : undefined;

    // 1. Files with at least one matching row.
    let candidates: AddFile[];
    let scope: 'all' | Predicate = 'all';
    let touched: AddFile[];
    if (!predicate) {
      candidates = snapshot.files;
      touched = candidates;
    } else {
      const planned = await planFiles(snapshot, predicate);
      candidates = planned.kept;
      scope = planned.predicate!;
      const byPartition = await matchByPartition(snapshot, candidates, predicate);
      touched = byPartition
        ? candidates.filter((_, i) => byPartition[i])
        : (await countMatches(snapshot, candidates, predicate)).filter((c) => c.matched > 0).map((c) => c.file);
    }
    const scanTimeMs = Date.now() - started;
    if (touched.length === 0) {
      return {
        version: snapshot.version,
        snapshot,
        metrics: { ...zeroMetrics(), executionTimeMs: Date.now() - started, scanTimeMs },
        skipped: 'no rows matched the predicate; nothing to update',
      };
    }

    // 2. The rewritten rows, computed once: new values, the match flag, and (for CDF) old values.
    const rewriteStarted = Date.now();
    const cdf = isChangeDataFeedEnabled(snapshot);
    const temp = `__lakelet_update_${process.pid}_${++updateCounter}`;
    const matchCol = '__lakelet_matched';
    const oldCol = (i: number) => sqlIdent(`__lakelet_old_${i}`);
    const columnList = fields.map((f) => sqlIdent(f.name)).join(', ');
    const useDv = deletionVectorsEnabled(snapshot);
    const scan = await scanSnapshot(snapshot, { files: touched, withFileInfo: useDv, fileIndex: useDv });
    const compute = ctx.compute;
    let dv: DvMarkResult | undefined;
    let adds: AddFile[] = [];
    let cdc: AddCDCFile[] = [];
    let updatedRows = 0;
    let copiedRows = 0;
    let addedBytes = 0;
    try {
      const matched = predicate ? isTrue(predicate) : 'true';
      const projections = fields.map((f) => {
        const expr = assigned.get(f);
        const col = `s.${sqlIdent(f.name)}`;
        const value = expr === undefined ? col : `CASE WHEN s.${matchCol} THEN CAST((${expr}) AS ${deltaTypeToDuckDb(f.type)}) ELSE ${col} END`;
        return `${value} AS ${sqlIdent(f.name)}`;
      });
      projections.push(`s.${matchCol} AS ${matchCol}`);
      if (cdf) fields.forEach((f, i) => projections.push(`s.${sqlIdent(f.name)} AS ${oldCol(i)}`));
      if (useDv) projections.push('s._file AS __lakelet_file', 's._row_index AS __lakelet_row');
      const describe = [...assigned.entries()].map(([f, e]) => `${f.name} = ${e}`).join(', ') + (predicate ? ` WHERE ${predicate}` : '');
      await withMissingFileCheck(snapshot, touched, () =>
        evaluate(snapshot, describe, () =>
          compute.run(`CREATE TEMP TABLE ${temp} AS SELECT ${projections.join(', ')} FROM (SELECT *, ${matched} AS ${matchCol} FROM (${scan.sql})) s`),
        ),
      );
      const [counts] = await compute.query<{ u: string; c: string }>(
        `SELECT count(*) FILTER (WHERE ${matchCol}) AS u, count(*) FILTER (WHERE NOT ${matchCol}) AS c FROM ${temp}`,
      );
      updatedRows = Number(counts.u);
      copiedRows = Number(counts.c);
      // With deletion vectors only the updated rows are new; the others stay in their files.
      const newRows = `SELECT ${columnList} FROM ${temp}${useDv ? ` WHERE ${matchCol}` : ''}`;
      await enforceConstraints(compute, ctx.uri, tableConstraints(snapshot.schema, snapshot.configuration), newRows);
      const written = await writeDataFiles(ctx, newRows, {
        schema: snapshot.schema,
        partitionColumns: snapshot.partitionColumns,
        mappingMode: columnMappingMode(snapshot.metadata),
        configuration: snapshot.configuration,
      });
      adds = written.adds;
      addedBytes = written.numOutputBytes;
      if (useDv) {
        const positions = await collectPositions(ctx, `SELECT __lakelet_file AS f, __lakelet_row AS r FROM ${temp} WHERE ${matchCol}`, scan.files);
        dv = await markRowsDeleted(ctx, snapshot, touched, positions, ctx.clock.now(), scan.deletedRows);
        copiedRows = 0;
      }
      if (cdf) {
        const pre = fields.map((f, i) => `${oldCol(i)} AS ${sqlIdent(f.name)}`).join(', ');
        cdc = await writeChangeDataFiles(
          ctx,
          snapshot,
          `SELECT ${pre}, ${sqlString('update_preimage')} AS ${CHANGE_TYPE_COLUMN} FROM ${temp} WHERE ${matchCol} ` +
            `UNION ALL SELECT ${columnList}, ${sqlString('update_postimage')} AS ${CHANGE_TYPE_COLUMN} FROM ${temp} WHERE ${matchCol}`,
        );
      }
    } finally {
      await compute.run(`DROP TABLE IF EXISTS ${temp}`).catch(() => {});
      await scan.release();
    }
    const rewriteTimeMs = Date.now() - rewriteStarted;

    // 3. Commit.
    const now = ctx.clock.now();
    const removes: Action[] = dv ? dv.actions : touched.map((f) => removeFor(f, now, true));
    const actions: Action[] = [...removes, ...adds.map((add) => ({ add })), ...cdc.map((c) => ({ cdc: c }))];
    const removedFiles = dv ? dv.filesRemoved : touched;
    const metrics: UpdateMetrics = {
      numUpdatedRows: updatedRows,
      numCopiedRows: copiedRows,
      numAddedFiles: adds.length,
      numRemovedFiles: removedFiles.length,
      numAddedChangeFiles: cdc.length,
      numAddedBytes: addedBytes,
      numRemovedBytes: totalBytes(removedFiles),
      numDeletionVectorsAdded: dv?.dvAdded ?? 0,
      numDeletionVectorsUpdated: dv?.dvUpdated ?? 0,
      executionTimeMs: Date.now() - started,
      scanTimeMs,
      rewriteTimeMs,
    };
    const result = await commit(ctx, {
      read: snapshot,
      actions,
      operation: 'UPDATE',
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

function zeroMetrics(): UpdateMetrics {
  return {
    numUpdatedRows: 0,
    numCopiedRows: 0,
    numAddedFiles: 0,
    numRemovedFiles: 0,
    numAddedChangeFiles: 0,
    numAddedBytes: 0,
    numRemovedBytes: 0,
    numDeletionVectorsAdded: 0,
    numDeletionVectorsUpdated: 0,
    executionTimeMs: 0,
    scanTimeMs: 0,
    rewriteTimeMs: 0,
  };
}
