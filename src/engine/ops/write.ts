import type { Action, AddFile, Metadata } from '../delta/actions.ts';
import type { TableHandle } from '../table-handle.ts';
import { exactSourceSql, parquetFileOf, type Source } from './source.ts';
import { schemaFromDuckDbColumns } from '../delta/duckdb-types.ts';
import { reconcileSchema } from '../delta/schema-compat.ts';
import { chooseProtocol } from '../delta/protocol-chooser.ts';
import { writeDataFiles } from '../delta/data-writer.ts';
import { adoptParquetFile } from '../delta/adopt-parquet.ts';
import { enforceConstraints, tableConstraints } from '../delta/constraints.ts';
import { columnMappingMode } from '../delta/column-mapping.ts';
import { withColumnMapping } from '../delta/column-mapping-assign.ts';
import { protocolUpgrade } from './protocol-upgrade.ts';
import { commit } from '../delta/transaction.ts';
import { planFiles } from '../delta/scan.ts';
import { compilePredicate } from '../delta/skipping.ts';
import { InputError, SchemaMismatchError } from '../errors.ts';
import { assertLoadableNesting } from '../delta/nesting-limit.ts';
import { versionOfTxn } from '../delta/txn-lookup.ts';
import { assertSettableOnExisting, normalizeTableProperties } from '../delta/table-properties.ts';

export type WriteMode = 'append' | 'overwrite' | 'error-if-exists' | 'ignore-if-exists';

export interface WriteMetrics {
  numFiles: number;
  numOutputRows: number;
  numOutputBytes: number;
  numRemovedFiles: number;
  executionTimeMs: number;
}

import type { OperationResult } from './operation-result.ts';
import { inputErrorFrom } from '../../errors/lakelet-error.ts';
export type { OperationResult };

/**
 * Append or overwrite a batch; creates the table on first write. Overwrite replaces the whole table
 * or, with `replaceWhere`, only the partitions the predicate selects (the batch must fit inside it).
 */
export class WriteBuilder {
  private _mode: WriteMode = 'append';
  private _partitionBy: string[] | undefined;
  private _replaceWhere: string | undefined;
  private _properties: Record<string, string> = {};
  private _mergeSchema = false;
  private _txn: { appId: string; version: number } | undefined;
  private _targetFileSize: number | undefined;
  private _name: string | undefined;
  private _description: string | undefined;

  constructor(
    private readonly table: TableHandle,
    private readonly source: Source,
  ) {}

  mode(mode: WriteMode): this {
    this._mode = mode;
    return this;
  }
  partitionBy(...columns: string[]): this {
    this._partitionBy = columns.flat();
    return this;
  }
  replaceWhere(predicate: string): this {
    this._replaceWhere = predicate;
    this._mode = 'overwrite';
    return this;
  }
  properties(props: Record<string, string>): this {
    this._properties = { ...this._properties, ...props };
    return this;
  }
  mergeSchema(enabled = true): this {
    this._mergeSchema = enabled;
    return this;
  }
  /** Makes the write idempotent: a second write with the same appId and version is a no-op. */
  txn(appId: string, version: number): this {
    this._txn = { appId, version };
    return this;
  }
  targetFileSize(bytes: number): this {
    this._targetFileSize = bytes;
    return this;
  }
  name(name: string, description?: string): this {
    this._name = name;
    this._description = description;
    return this;
  }

  async execute(): Promise<OperationResult<WriteMetrics>> {
    const started = Date.now();
    const ctx = this.table.ctx;
    this._properties = normalizeTableProperties(ctx.uri, this._properties);
    const existing = await this.table.tryLatest();
    if (existing && this._mode === 'error-if-exists') throw new InputError(`${ctx.uri}: table already exists (mode error-if-exists).`);
    if (existing && this._mode === 'ignore-if-exists') {
      return { version: existing.version, snapshot: existing, metrics: emptyMetrics(0), skipped: 'table exists (mode ignore-if-exists)' };
    }
    if (existing && this._txn) {
      const done = existing.txnVersion(this._txn.appId);
      if (done !== undefined && done >= this._txn.version) {
        const appliedIn = (await versionOfTxn(existing, this._txn.appId, this._txn.version)) ?? existing.version;
        return { version: appliedIn, snapshot: existing, metrics: emptyMetrics(Date.now() - started), skipped: `transaction ${this._txn.appId}@${this._txn.version} already committed` };
      }
    }
    const unreadable = (err: unknown) => inputErrorFrom(err, (detail) => `${ctx.uri}: cannot read the batch: ${detail}`);
    const { sql, columns: described } = await exactSourceSql(ctx.compute, this.source, unreadable);
    let columns: { column_name: string; column_type: string }[];
    try {
      columns = described ?? (await ctx.compute.query(`DESCRIBE ${sql}`));
    } catch (err) {
      throw unreadable(err);
    }
    const sourceSchema = schemaFromDuckDbColumns(columns.map((c) => ({ name: c.column_name, type: c.column_type })));
    assertLoadableNesting(ctx.uri, sourceSchema, 'the batch');

    let metadata: Metadata;
    const actions: Action[] = [];
    if (!existing) {
      const partitionColumns = this._partitionBy ?? [];
      for (const p of partitionColumns) {
        if (!sourceSchema.fields.some((f) => f.name === p)) {
          throw new InputError(
            `${ctx.uri}: partition column '${p}' is not in the batch (columns: ${sourceSchema.fields.map((f) => f.name).join(', ')}), so the table cannot be created partitioned by it. ` +
              `Nothing was written to this table. Add the column to the data, or leave it out of the partition columns (partitionBy in lakelet.yml / --partition-by), then run again.`,
          );
        }
      }
      // Under column mapping every field gets its id and physical name now, before any file is written.
      const mapped = withColumnMapping(undefined, sourceSchema, { ...this._properties }, () => ctx.ids.uuid());
      metadata = {
        id: ctx.ids.uuid(),
        ...(this._name ? { name: this._name } : {}),
        ...(this._description ? { description: this._description } : {}),
        format: { provider: 'parquet', options: {} },
        schemaString: JSON.stringify(mapped.schema),
        partitionColumns,
        configuration: mapped.configuration,
        createdTime: ctx.clock.now(),
      };
      actions.push({ protocol: chooseProtocol(mapped.schema, metadata.configuration) }, { metaData: metadata });
    } else {
      metadata = existing.metadata;
      if (this._partitionBy && JSON.stringify(this._partitionBy) !== JSON.stringify(existing.partitionColumns)) {
        throw new SchemaMismatchError(
          ctx.uri,
          `the table is partitioned by [${existing.partitionColumns.join(', ')}], not [${this._partitionBy.join(', ')}]. Write without --partition-by, or to a new table.`,
        );
      }
      const { schema, changed } = reconcileSchema(ctx.uri, existing.schema, sourceSchema, { mergeSchema: this._mergeSchema });
      const propsChanged = Object.entries(this._properties).some(([k, v]) => existing.configuration[k] !== v);
      if (propsChanged) assertSettableOnExisting(ctx.uri, this._properties, existing.configuration);
      if (changed || propsChanged) {
        const mapped = withColumnMapping(existing.metadata, schema, { ...existing.configuration, ...this._properties }, () => ctx.ids.uuid());
        metadata = { ...existing.metadata, schemaString: JSON.stringify(mapped.schema), configuration: mapped.configuration };
        actions.push({ metaData: metadata });
        const protocol = protocolUpgrade(existing.protocol, mapped.schema, metadata.configuration);
        if (protocol) actions.push({ protocol });
      }
    }
    const schema = JSON.parse(metadata.schemaString);
    if (existing && existing.configuration['delta.appendOnly'] === 'true' && this._mode === 'overwrite') {
      throw new InputError(`${ctx.uri}: the table is append-only (delta.appendOnly=true); overwrite is not allowed.`);
    }
    await enforceConstraints(ctx.compute, ctx.uri, tableConstraints(schema, metadata.configuration), sql);

    // Files to replace, and (for replaceWhere) a check that the batch stays inside the predicate.
    let removed: AddFile[] = [];
    let readScope: 'none' | 'all' | Awaited<ReturnType<typeof compilePredicate>> = 'none';
    if (existing && this._mode === 'overwrite') {
      if (this._replaceWhere) {
        const partitionSet = new Set(existing.partitionColumns.map((c) => c.toLowerCase()));
        const predicate = await compilePredicate(ctx.compute, this._replaceWhere);
        const referenced = predicateColumns(this._replaceWhere, existing.schema.fields.map((f) => f.name));
        const nonPartition = referenced.filter((c) => !partitionSet.has(c.toLowerCase()));
        if (nonPartition.length > 0) {
          throw new InputError(`${ctx.uri}: replaceWhere may only use partition columns (${existing.partitionColumns.join(', ') || 'none'}); it uses ${nonPartition.join(', ')}.`);
        }
        const outside = await ctx.compute.query<{ n: string }>(`SELECT count(*) AS n FROM (${sql}) WHERE NOT coalesce((${this._replaceWhere}), false)`);
        if (Number(outside[0].n) > 0) {
          throw new InputError(`${ctx.uri}: ${outside[0].n} rows of the batch do not match replaceWhere '${this._replaceWhere}'; nothing was written.`);
        }
        removed = (await planFiles(existing, this._replaceWhere)).kept;
        readScope = predicate;
      } else {
        removed = existing.files;
        readScope = 'all';
      }
    }

    // One Parquet file already in the table's layout is taken into the table as it is (adopt-parquet.ts).
    const parquetFile = parquetFileOf(this.source);
    const adopted = parquetFile
      ? await adoptParquetFile(ctx, parquetFile, { schema, fileSchema: sourceSchema, metadata, targetFileSize: this._targetFileSize })
      : undefined;
    const written =
      adopted ??
      (await writeDataFiles(ctx, sql, {
        schema,
        partitionColumns: metadata.partitionColumns,
        mappingMode: columnMappingMode(metadata),
        targetFileSize: this._targetFileSize,
        configuration: metadata.configuration,
        // Described above: the batch's query is not planned a second time (a batch of many files is one large UNION).
        columns: columns.map((c) => c.column_name),
      }));
    const now = ctx.clock.now();
    for (const f of removed) {
      actions.push({ remove: { path: f.path, deletionTimestamp: now, dataChange: true, extendedFileMetadata: true, partitionValues: f.partitionValues, size: f.size, ...(f.deletionVector ? { deletionVector: f.deletionVector } : {}) } });
    }
    for (const add of written.adds) actions.push({ add });

    const operation = existing ? 'WRITE' : 'CREATE TABLE AS SELECT';
    const result = await commit(ctx, {
      read: existing,
      actions,
      operation,
      operationParameters: {
        mode: this._mode === 'overwrite' ? 'Overwrite' : 'Append',
        partitionBy: metadata.partitionColumns,
        ...(this._replaceWhere ? { predicate: this._replaceWhere } : {}),
      },
      operationMetrics: {
        numFiles: written.adds.length,
        numOutputRows: written.numOutputRows,
        numOutputBytes: written.numOutputBytes,
        ...(removed.length ? { numRemovedFiles: removed.length } : {}),
      },
      readSet: { files: removed, scope: readScope },
      appTxn: this._txn,
    });
    if (result.skipped) {
      await deleteOrphans(this.table, written.adds);
      return { version: result.version, snapshot: result.snapshot, metrics: emptyMetrics(Date.now() - started), skipped: `transaction ${result.skipped.appId}@${result.skipped.txnVersion} already committed` };
    }
    return {
      version: result.version,
      snapshot: result.snapshot,
      metrics: {
        numFiles: written.adds.length,
        numOutputRows: written.numOutputRows,
        numOutputBytes: written.numOutputBytes,
        numRemovedFiles: removed.length,
        executionTimeMs: Date.now() - started,
      },
    };
  }
}

function emptyMetrics(executionTimeMs: number): WriteMetrics {
  return { numFiles: 0, numOutputRows: 0, numOutputBytes: 0, numRemovedFiles: 0, executionTimeMs };
}

/** Column names a predicate mentions (word match against the known columns). */
function predicateColumns(predicate: string, columns: string[]): string[] {
  const stripped = predicate.replace(/'(?:[^']|'')*'/g, "''");
  return columns.filter((c) => new RegExp(`(^|[^\\w"])"?${c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}"?([^\\w"]|$)`, 'i').test(stripped));
}

/** Files written for a commit that turned out to be a duplicate are never referenced: remove them. */
async function deleteOrphans(table: TableHandle, adds: AddFile[]): Promise<void> {
  for (const a of adds) await table.ctx.store.delete(decodeURIComponent(a.path)).catch(() => {});
}
