import type { Action, AddFile } from '../delta/actions.ts';
import type { StructField, StructType } from '../delta/schema.ts';
import type { TableHandle } from '../table-handle.ts';
import type { OperationResult } from './operation-result.ts';
import { sourceSql, type Source } from './source.ts';
import { sqlIdent, sqlString } from '../../adapters/compute/duckdb.ts';
import { schemaFromDuckDbColumns } from '../delta/duckdb-types.ts';
import { reconcileSchema } from '../delta/schema-compat.ts';
import { chooseProtocol } from '../delta/protocol-chooser.ts';
import { scanSnapshot } from '../delta/scan.ts';
import { writeDataFiles } from '../delta/data-writer.ts';
import { columnMappingMode } from '../delta/column-mapping.ts';
import { enforceConstraints, tableConstraints } from '../delta/constraints.ts';
import { compilePredicate } from '../delta/skipping.ts';
import { commit } from '../delta/transaction.ts';
import { pruneByKeys } from './merge-pruning.ts';
import { isChangeDataFeedEnabled, writeChangeDataFiles } from './cdf.ts';
import {
  CODE_BY_SOURCE_NONE,
  CODE_MATCHED_NONE,
  CODE_NOT_MATCHED_NONE,
  codeClauses,
  decisionSql,
  isDelete,
  isUpdate,
  type CodedClause,
  type MergeClause,
} from './merge-clauses.ts';
import { CommitConflictError, InputError, LakeletError, NotATableError } from '../errors.ts';
import { versionOfTxn } from '../delta/txn-lookup.ts';
import { WriteBuilder } from './write.ts';

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
  executionTimeMs: number;
  scanTimeMs: number;
  rewriteTimeMs: number;
}

/** A target row matched by more than one source row: the merge would be ambiguous. */
export class MergeDuplicateKeyError extends LakeletError {
  constructor(tablePath: string, readonly key: Record<string, unknown>, readonly matches: number) {
    super(
      'MERGE_DUPLICATE_SOURCE',
      `${tablePath}: MERGE cannot apply: the target row with key ${JSON.stringify(key)} is matched by ${matches} source rows. ` +
        'Deduplicate the source by key (dedupBy(<ordering column>) / --dedup-by) to keep the latest row, or fix the batch.',
    );
  }
}

export interface MergeOptions {
  /** Key columns: the join is `t.k = s.k AND …`. */
  on: string[];
  /** Extra join condition over the aliases (e.g. `t.region = 'eu'`). */
  condition?: string;
  sourceAlias?: string;
  targetAlias?: string;
}

let mergeCounter = 0;

/**
 * MERGE (upsert) a source relation into the table on key columns, with Delta's clause semantics.
 * Files are pruned by partition values and key min/max stats before any data is read; only files
 * holding a row that actually changes are rewritten; an insert-only batch only adds files. The
 * join and rewrite run inside DuckDB under its memory limit (spilling to disk), never in JS.
 */
export class MergeBuilder {
  private clauses: MergeClause[] = [];
  private dedup: { orderBy: string; keep: 'last' | 'first' } | undefined;
  private _txn: { appId: string; version: number } | undefined;
  private _mergeSchema = false;
  private _createIfMissing: { partitionBy: string[] } | undefined;
  private _retries = 3;

  constructor(
    private readonly table: TableHandle,
    private readonly source: Source,
    private readonly options: MergeOptions,
  ) {
    if (options.on.length === 0) throw new InputError('MERGE needs at least one key column (on).');
  }

  whenMatchedUpdate(set: Record<string, string>, condition?: string): this {
    this.clauses.push({ kind: 'matched-update', set, condition });
    return this;
  }
  whenMatchedUpdateAll(condition?: string): this {
    this.clauses.push({ kind: 'matched-update', condition });
    return this;
  }
  whenMatchedDelete(condition?: string): this {
    this.clauses.push({ kind: 'matched-delete', condition });
    return this;
  }
  whenNotMatchedInsert(values: Record<string, string>, condition?: string): this {
    this.clauses.push({ kind: 'not-matched-insert', set: values, condition });
    return this;
  }
  whenNotMatchedInsertAll(condition?: string): this {
    this.clauses.push({ kind: 'not-matched-insert', condition });
    return this;
  }
  whenNotMatchedBySourceUpdate(set: Record<string, string>, condition?: string): this {
    this.clauses.push({ kind: 'by-source-update', set, condition });
    return this;
  }
  whenNotMatchedBySourceDelete(condition?: string): this {
    this.clauses.push({ kind: 'by-source-delete', condition });
    return this;
  }
  /** Keep one source row per key: the last (or first) by this ordering column. */
  dedupBy(orderBy: string, keep: 'last' | 'first' = 'last'): this {
    this.dedup = { orderBy, keep };
    return this;
  }
  txn(appId: string, version: number): this {
    this._txn = { appId, version };
    return this;
  }
  mergeSchema(enabled = true): this {
    this._mergeSchema = enabled;
    return this;
  }
  /** Create the target from the source's schema when it does not exist yet. */
  createIfMissing(partitionBy: string[] = []): this {
    this._createIfMissing = { partitionBy };
    return this;
  }

  /** Re-plan and retry up to `n` times when a concurrent commit conflicts (default 3). */
  retries(n: number): this {
    this._retries = n;
    return this;
  }

  /**
   * Runs the merge. A logical conflict with a concurrent commit re-plans the whole merge against
   * the new snapshot (its inputs are re-read, so no update is lost) up to `retries` times, then
   * fails with CommitConflictError.
   */
  async execute(): Promise<OperationResult<MergeMetrics>> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.attempt();
      } catch (err) {
        if (!(err instanceof CommitConflictError) || attempt >= this._retries) throw err;
      }
    }
  }

  private async attempt(): Promise<OperationResult<MergeMetrics>> {
    const started = Date.now();
    const ctx = this.table.ctx;
    const { compute } = ctx;
    if (this.clauses.length === 0) throw new InputError('MERGE needs at least one WHEN clause.');
    assertOnlyLastUnconditional(this.clauses);
    const id = `${process.pid}_${++mergeCounter}`;
    const src = `__lakelet_merge_src_${id}`;
    const joined = `__lakelet_merge_rows_${id}`;
    const t = this.options.targetAlias ?? 't';
    const s = this.options.sourceAlias ?? 's';
    const keys = this.options.on;

    let snapshot = await this.table.tryLatest();
    if (snapshot && this._txn) {
      const done = snapshot.txnVersion(this._txn.appId);
      if (done !== undefined && done >= this._txn.version) {
        const appliedIn = (await versionOfTxn(snapshot, this._txn.appId, this._txn.version)) ?? snapshot.version;
        return { version: appliedIn, snapshot, metrics: emptyMetrics(), skipped: `transaction ${this._txn.appId}@${this._txn.version} already committed` };
      }
    }

    // 1. Materialise the (deduplicated) source once: it is joined, counted and range-joined.
    const sql = sourceSql(this.source);
    const rowNumber = '__lakelet_srow';
    const keyList = keys.map(sqlIdent).join(', ');
    const dedupSql = this.dedup
      ? ` QUALIFY row_number() OVER (PARTITION BY ${keyList} ORDER BY ${sqlIdent(this.dedup.orderBy)} ${this.dedup.keep === 'last' ? 'DESC' : 'ASC'} NULLS LAST, ${rowNumber} ${this.dedup.keep === 'last' ? 'DESC' : 'ASC'}) = 1`
      : '';
    const created: string[] = [];
    const release: (() => Promise<void>)[] = [];
    try {
      try {
        await compute.run(`CREATE TEMP TABLE ${src} AS SELECT * FROM (SELECT *, row_number() OVER () AS ${rowNumber} FROM (${sql}))${dedupSql}`);
      } catch (err) {
        throw new InputError(`${ctx.uri}: cannot read the MERGE source: ${(err as Error).message.split('\n')[0]}`, { cause: err });
      }
      created.push(src);
      const sourceColumns = (await compute.query<{ column_name: string; column_type: string }>(`DESCRIBE ${src}`)).filter((c) => c.column_name !== rowNumber);
      for (const k of keys) {
        if (!sourceColumns.some((c) => c.column_name.toLowerCase() === k.toLowerCase())) {
          throw new InputError(`${ctx.uri}: MERGE key column '${k}' is not in the source (columns: ${sourceColumns.map((c) => c.column_name).join(', ')}).`);
        }
      }
      const sourceSchema = schemaFromDuckDbColumns(sourceColumns.map((c) => ({ name: c.column_name, type: c.column_type })));
      const counts = await compute.query<{ n: string; raw: string }>(`SELECT (SELECT count(*) FROM ${src}) AS n, (SELECT count(*) FROM (${sql})) AS raw`);
      const numSourceRows = Number(counts[0].raw);
      const numSourceRowsDeduplicated = numSourceRows - Number(counts[0].n);

      // 2. Target: create when asked; evolve the schema when asked.
      const actions: Action[] = [];
      if (!snapshot) {
        if (!this._createIfMissing) throw new NotATableError(ctx.uri, 'MERGE needs an existing target; use createIfMissing()');
        const created0 = await new WriteBuilder(this.table, { sql: `SELECT * EXCLUDE (${rowNumber}) FROM ${src} WHERE false` })
          .partitionBy(...this._createIfMissing.partitionBy)
          .execute();
        snapshot = created0.snapshot;
      }
      for (const k of keys) {
        if (!snapshot.schema.fields.some((f) => f.name.toLowerCase() === k.toLowerCase())) {
          throw new InputError(`${ctx.uri}: MERGE key column '${k}' is not in the target table.`);
        }
      }
      let schema: StructType = snapshot.schema;
      let metadata = snapshot.metadata;
      if (this.clauses.some((c) => !c.set && (c.kind === 'matched-update' || c.kind === 'not-matched-insert'))) {
        // Like Delta: without schema evolution, UPDATE SET * / INSERT * ignore source columns the
        // target lacks (e.g. an `op` marker column); shared columns must still have compatible types.
        const targetNames = new Set(snapshot.schema.fields.map((f) => f.name.toLowerCase()));
        const compared = this._mergeSchema ? sourceSchema : { ...sourceSchema, fields: sourceSchema.fields.filter((f) => targetNames.has(f.name.toLowerCase())) };
        const evolved = reconcileSchema(ctx.uri, snapshot.schema, compared, { mergeSchema: this._mergeSchema });
        if (evolved.changed) {
          schema = evolved.schema;
          metadata = { ...metadata, schemaString: JSON.stringify(schema) };
          actions.push({ metaData: metadata });
          const protocol = chooseProtocol(schema, metadata.configuration);
          if (protocol.minWriterVersion > snapshot.protocol.minWriterVersion || protocol.minReaderVersion > snapshot.protocol.minReaderVersion) actions.push({ protocol });
        }
      }

      // 3. Prune target files by partition values and key ranges, unless every row matters.
      const clauses = codeClauses(this.clauses);
      const bySource = clauses.filter((c) => c.kind.startsWith('by-source'));
      const matched = clauses.filter((c) => c.kind.startsWith('matched'));
      const inserts = clauses.filter((c) => c.kind === 'not-matched-insert');
      const scanStarted = Date.now();
      const candidates = bySource.length > 0 ? snapshot.files : matched.length === 0 && inserts.length > 0 ? await pruneByKeys(snapshot, keys, src) : await pruneByKeys(snapshot, keys, src);
      const scan = await scanSnapshot(snapshot, { withFileInfo: true, files: candidates });
      release.push(() => scan.release());

      // 4. Join once and decide every row's clause inside DuckDB.
      const on = [...keys.map((k) => `${t}.${sqlIdent(k)} = ${s}.${sqlIdent(k)}`), ...(this.options.condition ? [`(${this.options.condition})`] : [])].join(' AND ');
      const decision =
        `CASE WHEN ${t}._file IS NOT NULL AND ${s}.${rowNumber} IS NOT NULL THEN ${decisionSql(matched, CODE_MATCHED_NONE)} ` +
        `WHEN ${t}._file IS NULL THEN ${decisionSql(inserts, CODE_NOT_MATCHED_NONE)} ` +
        `ELSE ${decisionSql(bySource, CODE_BY_SOURCE_NONE)} END`;
      const sourceNames = new Set(sourceSchema.fields.map((f) => f.name.toLowerCase()));
      const existing = new Set(snapshot.schema.fields.map((f) => f.name.toLowerCase()));
      const outputs = schema.fields.map((f) => `${outputExpr(f, clauses, sourceNames, existing, t, s)} AS ${sqlIdent(f.name)}`);
      // With the change data feed on, keep each target row's pre-image beside its new values.
      const cdf = isChangeDataFeedEnabled(snapshot);
      const preimage = (f: StructField, i: number) => `${existing.has(f.name.toLowerCase()) ? `${t}.${sqlIdent(f.name)}` : 'NULL'} AS __pre_${i}`;
      if (cdf) outputs.push(...schema.fields.map(preimage));
      const joinKind = bySource.length > 0 ? (inserts.length > 0 ? 'FULL OUTER' : 'LEFT OUTER') : inserts.length > 0 ? 'FULL OUTER' : 'LEFT OUTER';
      try {
        await compute.run(
          `CREATE TEMP TABLE ${joined} AS SELECT ${t}._file AS __file, ${t}._row_index AS __row, __code, ${outputs.join(', ')} FROM (` +
            `SELECT ${t}, ${s}, ${decision} AS __code FROM (${scan.sql}) ${t} ${joinKind} JOIN ${src} ${s} ON ${on})`,
        );
      } catch (err) {
        throw new InputError(`${ctx.uri}: MERGE failed to evaluate: ${(err as Error).message.split('\n')[0]}. Check the clause conditions and SET expressions.`, { cause: err });
      }
      created.push(joined);
      const scanTimeMs = Date.now() - scanStarted;

      // 5. Ambiguity: a target row matched by several source rows (Delta refuses such a merge).
      if (matched.length > 0) {
        const dup = await compute.query<Record<string, unknown> & { __n: string }>(
          `SELECT count(*) AS __n, ${keys.map((k) => `any_value(${sqlIdent(k)}) AS ${sqlIdent(k)}`).join(', ')} FROM ${joined} ` +
            `WHERE __file IS NOT NULL AND __code BETWEEN 0 AND 99 GROUP BY __file, __row HAVING count(*) > 1 LIMIT 1`,
        );
        if (dup.length > 0) {
          const key: Record<string, unknown> = {};
          for (const k of keys) key[k] = dup[0][k];
          throw new MergeDuplicateKeyError(ctx.uri, key, Number(dup[0].__n));
        }
      }

      // 6. Which files change, and the counts Delta reports.
      const changeCodes = clauses.filter((c) => isUpdate(c) || isDelete(c)).map((c) => c.code);
      const deleteCodes = clauses.filter(isDelete).map((c) => c.code);
      const stats = await compute.query<{ code: number; n: string }>(`SELECT __code AS code, count(*) AS n FROM ${joined} GROUP BY __code`);
      const countOf = (pred: (c: CodedClause) => boolean) =>
        stats.filter((r) => clauses.some((c) => c.code === Number(r.code) && pred(c))).reduce((a, r) => a + Number(r.n), 0);
      const touchedRows = changeCodes.length
        ? await compute.query<{ f: string }>(`SELECT DISTINCT __file AS f FROM ${joined} WHERE __code IN (${changeCodes.join(', ')})`)
        : [];
      const touched = new Set(touchedRows.map((r) => r.f));
      const removedFiles: AddFile[] = candidates.filter((f) => touched.has(f.path));

      // 7. Write the rewritten files' rows and the inserts in one pass, then commit.
      const rewriteStarted = Date.now();
      const cols = schema.fields.map((f) => sqlIdent(f.name)).join(', ');
      const touchedList = [...touched].map(sqlString).join(', ');
      const parts: string[] = [];
      if (touched.size > 0) {
        parts.push(
          `SELECT ${cols} FROM ${joined} WHERE __file IN (${touchedList})${deleteCodes.length ? ` AND __code NOT IN (${deleteCodes.join(', ')})` : ''} ` +
            `QUALIFY row_number() OVER (PARTITION BY __file, __row) = 1`,
        );
      }
      if (inserts.length > 0) parts.push(`SELECT ${cols} FROM ${joined} WHERE __code BETWEEN 101 AND 199`);
      const outputSql = parts.length ? parts.map((p) => `(${p})`).join(' UNION ALL ') : `SELECT ${cols} FROM ${joined} WHERE false`;
      await enforceConstraints(compute, ctx.uri, tableConstraints(schema, metadata.configuration), outputSql);
      const written = parts.length
        ? await writeDataFiles(ctx, outputSql, { schema, partitionColumns: metadata.partitionColumns, mappingMode: columnMappingMode(metadata), configuration: metadata.configuration })
        : { adds: [], numOutputRows: 0, numOutputBytes: 0 };
      const rewriteTimeMs = Date.now() - rewriteStarted;

      const cdc = cdf ? await writeChangeDataFiles(ctx, snapshot, changeRowsSql(schema, joined, clauses)) : [];
      for (const c of cdc) actions.push({ cdc: c });

      const now = ctx.clock.now();
      for (const f of removedFiles) {
        actions.push({ remove: { path: f.path, deletionTimestamp: now, dataChange: true, extendedFileMetadata: true, partitionValues: f.partitionValues, size: f.size, ...(f.deletionVector ? { deletionVector: f.deletionVector } : {}) } });
      }
      for (const add of written.adds) actions.push({ add });

      const numInserted = countOf((c) => c.kind === 'not-matched-insert');
      const matchedUpdated = countOf((c) => c.kind === 'matched-update');
      const bySourceUpdated = countOf((c) => c.kind === 'by-source-update');
      const matchedDeleted = countOf((c) => c.kind === 'matched-delete');
      const bySourceDeleted = countOf((c) => c.kind === 'by-source-delete');
      const numOutputRows = written.numOutputRows;
      const metrics: MergeMetrics = {
        numSourceRows,
        numSourceRowsDeduplicated,
        numTargetRowsInserted: numInserted,
        numTargetRowsUpdated: matchedUpdated + bySourceUpdated,
        numTargetRowsMatchedUpdated: matchedUpdated,
        numTargetRowsNotMatchedBySourceUpdated: bySourceUpdated,
        numTargetRowsDeleted: matchedDeleted + bySourceDeleted,
        numTargetRowsMatchedDeleted: matchedDeleted,
        numTargetRowsNotMatchedBySourceDeleted: bySourceDeleted,
        numTargetRowsCopied: numOutputRows - numInserted - matchedUpdated - bySourceUpdated,
        numOutputRows,
        numTargetFilesAdded: written.adds.length,
        numTargetFilesRemoved: removedFiles.length,
        numTargetFilesScanned: candidates.length,
        numTargetFilesSkipped: snapshot.files.length - candidates.length,
        numTargetBytesAdded: written.numOutputBytes,
        numTargetBytesRemoved: removedFiles.reduce((a, f) => a + f.size, 0),
        executionTimeMs: 0,
        scanTimeMs,
        rewriteTimeMs,
      };

      // What we read, for conflict detection: the scanned files, and the source's key range.
      const readScope = bySource.length > 0 ? ('all' as const) : await keyRangeScope(this.table, keys, src);
      metrics.executionTimeMs = Date.now() - started;
      const result = await commit(ctx, {
        read: snapshot,
        actions,
        operation: 'MERGE',
        operationParameters: {
          predicate: on,
          matchedPredicates: matched.map((c) => ({ actionType: c.kind === 'matched-delete' ? 'delete' : 'update', ...(c.condition ? { predicate: c.condition } : {}) })),
          notMatchedPredicates: inserts.map((c) => ({ actionType: 'insert', ...(c.condition ? { predicate: c.condition } : {}) })),
          notMatchedBySourcePredicates: bySource.map((c) => ({ actionType: c.kind === 'by-source-delete' ? 'delete' : 'update', ...(c.condition ? { predicate: c.condition } : {}) })),
        },
        operationMetrics: { ...metrics },
        readSet: { files: candidates, scope: readScope },
        appTxn: this._txn,
      }).catch(async (err: unknown) => {
        // The files this attempt wrote will never be referenced: remove them before giving up.
        for (const f of [...written.adds, ...cdc]) await ctx.store.delete(decodeURIComponent(f.path)).catch(() => {});
        throw err;
      });
      if (result.skipped) {
        // Another writer applied this txn first: what this attempt wrote (change data too) is unused.
        for (const f of [...written.adds, ...cdc]) await ctx.store.delete(decodeURIComponent(f.path)).catch(() => {});
        return { version: result.version, snapshot: result.snapshot, metrics: emptyMetrics(), skipped: `transaction ${result.skipped.appId}@${result.skipped.txnVersion} already committed` };
      }
      return { version: result.version, snapshot: result.snapshot, metrics };
    } finally {
      for (const r of release) await r().catch(() => {});
      for (const name of created) await compute.run(`DROP TABLE IF EXISTS ${name}`).catch(() => {});
    }
  }
}

/**
 * Delta's rule: among the clauses of one kind (matched / not matched / not matched by source), only
 * the last may omit its condition — an unconditional clause earlier would make the later ones dead.
 */
function assertOnlyLastUnconditional(clauses: MergeClause[]): void {
  const families: [string, (c: MergeClause) => boolean][] = [
    ['WHEN MATCHED', (c) => c.kind.startsWith('matched')],
    ['WHEN NOT MATCHED', (c) => c.kind === 'not-matched-insert'],
    ['WHEN NOT MATCHED BY SOURCE', (c) => c.kind.startsWith('by-source')],
  ];
  for (const [name, inFamily] of families) {
    const family = clauses.filter(inFamily);
    const early = family.slice(0, -1).findIndex((c) => !c.condition);
    if (early >= 0) {
      throw new InputError(`MERGE: ${name} clause ${early + 1} of ${family.length} has no condition, so the clauses after it could never apply; only the last ${name} clause may omit its condition.`);
    }
  }
}

/** Change data rows of a merge: inserts, update pre/post images and deletes (pre-images). */
function changeRowsSql(schema: StructType, joined: string, clauses: CodedClause[]): string {
  const post = schema.fields.map((f) => sqlIdent(f.name)).join(', ');
  const pre = schema.fields.map((f, i) => `__pre_${i} AS ${sqlIdent(f.name)}`).join(', ');
  const updates = clauses.filter(isUpdate).map((c) => c.code);
  const deletes = clauses.filter(isDelete).map((c) => c.code);
  const parts = [`SELECT ${post}, 'insert' AS _change_type FROM ${joined} WHERE __code BETWEEN 101 AND 199`];
  if (updates.length) {
    parts.push(`SELECT ${pre}, 'update_preimage' AS _change_type FROM ${joined} WHERE __code IN (${updates.join(', ')})`);
    parts.push(`SELECT ${post}, 'update_postimage' AS _change_type FROM ${joined} WHERE __code IN (${updates.join(', ')})`);
  }
  if (deletes.length) parts.push(`SELECT ${pre}, 'delete' AS _change_type FROM ${joined} WHERE __code IN (${deletes.join(', ')})`);
  return parts.map((p) => `(${p})`).join(' UNION ALL ');
}

/** The value a target column takes for each clause; unchanged (target value) otherwise. */
function outputExpr(field: StructField, clauses: CodedClause[], sourceNames: Set<string>, targetNames: Set<string>, t: string, s: string): string {
  const col = sqlIdent(field.name);
  // A column just added by schema evolution has no target value yet.
  const current = targetNames.has(field.name.toLowerCase()) ? `${t}.${col}` : 'NULL';
  const fromSource = sourceNames.has(field.name.toLowerCase()) ? `${s}.${col}` : undefined;
  const whens: string[] = [];
  for (const c of clauses) {
    if (isDelete(c)) continue;
    const explicit = c.set ? Object.entries(c.set).find(([k]) => k.toLowerCase() === field.name.toLowerCase())?.[1] : undefined;
    let value: string | undefined;
    if (c.kind === 'not-matched-insert') value = explicit ?? (c.set ? 'NULL' : fromSource ?? 'NULL');
    else value = explicit ?? (c.set ? undefined : fromSource);
    if (value !== undefined) whens.push(`WHEN __code = ${c.code} THEN ${value}`);
  }
  return whens.length ? `CASE ${whens.join(' ')} ELSE ${current} END` : current;
}

/** A predicate covering the source's key range: files a concurrent writer adds inside it conflict. */
async function keyRangeScope(table: TableHandle, keys: string[], src: string) {
  const { compute } = table.ctx;
  const parts: string[] = [];
  for (const k of keys) {
    const r = await compute.query<{ lo: string | null; hi: string | null }>(`SELECT min(${sqlIdent(k)})::VARCHAR AS lo, max(${sqlIdent(k)})::VARCHAR AS hi FROM ${src}`);
    if (r[0].lo === null || r[0].hi === null) return 'none' as const;
    const type = (await compute.query<{ t: string }>(`SELECT typeof(${sqlIdent(k)}) AS t FROM ${src} LIMIT 1`))[0].t;
    parts.push(`${sqlIdent(k)} BETWEEN CAST(${sqlString(r[0].lo)} AS ${type}) AND CAST(${sqlString(r[0].hi)} AS ${type})`);
  }
  return compilePredicate(compute, parts.join(' AND '));
}

function emptyMetrics(): MergeMetrics {
  return {
    numSourceRows: 0, numSourceRowsDeduplicated: 0, numTargetRowsInserted: 0, numTargetRowsUpdated: 0, numTargetRowsMatchedUpdated: 0,
    numTargetRowsNotMatchedBySourceUpdated: 0, numTargetRowsDeleted: 0, numTargetRowsMatchedDeleted: 0, numTargetRowsNotMatchedBySourceDeleted: 0,
    numTargetRowsCopied: 0, numOutputRows: 0, numTargetFilesAdded: 0, numTargetFilesRemoved: 0, numTargetFilesScanned: 0, numTargetFilesSkipped: 0,
    numTargetBytesAdded: 0, numTargetBytesRemoved: 0, executionTimeMs: 0, scanTimeMs: 0, rewriteTimeMs: 0,
  };
}
