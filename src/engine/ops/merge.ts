import type { Snapshot } from '../delta/snapshot.ts';
import type { TableHandle } from '../table-handle.ts';
import type { OperationResult } from './operation-result.ts';
import type { Source } from './source.ts';
import { scanSnapshot } from '../delta/scan.ts';
import { LazyCompute } from '../../adapters/compute/lazy-compute.ts';
import { isChangeDataFeedEnabled } from './cdf.ts';
import { CommitConflictError, InputError } from '../errors.ts';
import { versionOfTxn } from '../delta/txn-lookup.ts';
import { assertOnlyLastUnconditional, type MergeClause } from './merge/clauses.ts';
import { assertUnambiguous, decideRows, decisionsWithoutTarget, isPlainUpsert, joinCondition, joinRows, lateSourceRows, noRowsActedOn, sourceKeysMayRepeat, type RowDecisions } from './merge/join.ts';
import { mayPairByPosition, pairingParts } from './merge/aligned.ts';
import { columnMappingMode, physicalName } from '../delta/column-mapping.ts';
import { emptyMetrics, mergeMetrics, type MergeMetrics } from './merge/metrics.ts';
import { materializeSource, planFiles, prepareTarget, sourceRelationKind, type Dedup, type MergeSource } from './merge/plan.ts';
import type { Compute } from '../../adapters/compute/compute.ts';
import { commitMerge, writeMergeOutput } from './merge/write.ts';

// The public face of MERGE: the builder here, its parts in merge/ (plan, join, write, metrics).
export { MergeDuplicateKeyError } from './merge/join.ts';
export type { MergeMetrics } from './merge/metrics.ts';

export interface MergeOptions {
  /** Key columns: the join is `t.k = s.k AND …`. */
  on: string[];
  /** Extra join condition over the aliases (e.g. `t.region = 'eu'`). */
  condition?: string;
  sourceAlias?: string;
  targetAlias?: string;
}

let mergeCounter = 0;

/** The merge's temp relations: the materialised source and the joined rows (a view when no target file is read). */
interface MergeTemps {
  src: string;
  joined: string;
  joinedKind: 'TABLE' | 'VIEW';
}

/**
 * Drops the merge's temp relations in one round trip, each as the kind it was created as (DROP
 * VIEW refuses a table); should that fail, each name is dropped as either kind, one by one.
 */
async function dropTemps(compute: Compute, temp: MergeTemps, srcKind: 'TABLE' | 'VIEW'): Promise<void> {
  try {
    await compute.run(`DROP ${temp.joinedKind} IF EXISTS ${temp.joined}; DROP ${srcKind} IF EXISTS ${temp.src}`);
  } catch {
    for (const kind of ['TABLE', 'VIEW']) for (const name of [temp.src, temp.joined]) await compute.run(`DROP ${kind} IF EXISTS ${name}`).catch(() => {});
  }
}

/**
 * MERGE (upsert) a source relation into the table on key columns, with Delta's clause semantics.
 * Files are pruned by partition values and key min/max stats before any data is read; only files
 * holding a row that actually changes are rewritten; an insert-only batch only adds files. The
 * join and rewrite run inside DuckDB under its memory limit (spilling to disk), never in JS.
 */
export class MergeBuilder {
  private clauses: MergeClause[] = [];
  private dedup: Dedup | undefined;
  private _txn: { appId: string; version: number } | undefined;
  private _mergeSchema = false;
  private _createIfMissing: { partitionBy: string[]; properties?: Record<string, string> } | undefined;
  private _retries = 3;
  private _domains: { domain: string; configuration: string }[] = [];

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
  /**
   * Commits this domain metadata (Delta's `domainMetadata` action) in the merge's own commit, so an
   * application's state (a sync watermark) changes exactly when the data does; upgrades the table
   * protocol to the `domainMetadata` writer feature when needed.
   */
  domainMetadata(domain: string, configuration: string): this {
    if (domain.startsWith('delta.')) throw new InputError(`domain '${domain}': names starting with 'delta.' are reserved for Delta itself`);
    this._domains.push({ domain, configuration });
    return this;
  }
  mergeSchema(enabled = true): this {
    this._mergeSchema = enabled;
    return this;
  }
  /** Create the target from the source's schema when it does not exist yet (with these table properties). */
  createIfMissing(partitionBy: string[] = [], properties: Record<string, string> = {}): this {
    this._createIfMissing = { partitionBy, properties };
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
    if (this.clauses.length === 0) throw new InputError('MERGE needs at least one WHEN clause.');
    assertOnlyLastUnconditional(this.clauses);
    // Every merge runs SQL: DuckDB's instance (~25 ms to create, on its own threads) comes up
    // while the snapshot is read in JavaScript, instead of after it.
    if (this.table.ctx.compute instanceof LazyCompute) this.table.ctx.compute.start();
    const id = `${process.pid}_${++mergeCounter}`;
    const temp: MergeTemps = { src: `__lakelet_merge_src_${id}`, joined: `__lakelet_merge_rows_${id}`, joinedKind: 'TABLE' };
    const release: (() => Promise<void>)[] = [];
    // 1. The source needs no snapshot: DuckDB materialises (deduplicates) and describes it on its
    // own threads while the snapshot is read in JavaScript. (Its error, if any, surfaces after the
    // snapshot's, as it did when it ran second.) Not with a txn: a replayed batch its txn skips
    // must not pay for reading its whole source first; it is materialised after the txn check.
    const materialize = () => materializeSource(this.table.ctx, this.source, this.options.on, this.dedup, temp.src);
    let sourceReady = this._txn === undefined ? materialize() : undefined;
    sourceReady?.catch(() => undefined);
    try {
      const snapshot = await this.table.tryLatest();
      if (snapshot && this._txn) {
        const done = snapshot.txnVersion(this._txn.appId);
        if (done !== undefined && done >= this._txn.version) {
          const appliedIn = (await versionOfTxn(snapshot, this._txn.appId, this._txn.version)) ?? snapshot.version;
          return { version: appliedIn, snapshot, metrics: emptyMetrics(), skipped: `transaction ${this._txn.appId}@${this._txn.version} already committed` };
        }
      }
      sourceReady ??= materialize();
      return await this.run(snapshot, await sourceReady, temp, release, started);
    } finally {
      // (The source's statements are done before its relation is dropped.)
      await sourceReady?.catch(() => undefined);
      for (const r of release) await r().catch(() => {});
      await dropTemps(this.table.ctx.compute, temp, sourceRelationKind(this.source, this.dedup));
    }
  }

  /** One attempt's steps, in order; `release` collects what the caller frees afterwards. */
  private async run(
    current: Snapshot | undefined,
    source: MergeSource,
    temp: MergeTemps,
    release: (() => Promise<void>)[],
    started: number,
  ): Promise<OperationResult<MergeMetrics>> {
    const ctx = this.table.ctx;
    const keys = this.options.on;
    const aliases = { t: this.options.targetAlias ?? 't', s: this.options.sourceAlias ?? 's' };
    // 1. The (deduplicated) source, materialised once (see attempt): it is joined, counted and range-joined.
    // 2. Target: create when asked; evolve the schema when asked.
    const target = await prepareTarget(this.table, current, source, { keys, clauses: this.clauses, mergeSchema: this._mergeSchema, createIfMissing: this._createIfMissing });
    const snapshot = target.snapshot;
    // 3. Prune target files by partition values and key ranges, unless every row matters.
    const scanStarted = Date.now();
    const plan = await planFiles(snapshot, this.clauses, keys, source);
    const scan = await scanSnapshot(snapshot, { withFileInfo: true, fileIndex: true, files: plan.candidates });
    release.push(() => scan.release());
    // 4. Join once and decide every row's clause inside DuckDB.
    const on = joinCondition(keys, aliases, this.options.condition);
    const preimages = isChangeDataFeedEnabled(snapshot);
    // Ambiguity (a target row matched by several source rows) needs every joined row only when
    // the source repeats a key; otherwise the join keeps just the rows a clause acts on.
    // (With no target file to read, no target row can be matched at all.)
    const mayRepeat = scan.files.length > 0 && (await sourceKeysMayRepeat(ctx, keys, plan, source, snapshot.schema));
    const joinInput = { targetSql: scan.sql, targetSchema: snapshot.schema, schema: target.schema, source, plan, aliases, on, preimages, joined: temp.joined };
    // A plain upsert without change data writes the source rows as they are: the join only decides.
    let narrow = !preimages && !mayRepeat && isPlainUpsert(plan, target.schema, source);
    // Other star merges keep each source row's id and fetch the values of the rows they write.
    const late = scan.files.length > 0 && lateSourceRows(plan, target.schema, source, preimages);
    const joinAndDecide = async (positional: boolean): Promise<RowDecisions> => {
      temp.joinedKind = scan.files.length === 0 ? 'VIEW' : 'TABLE';
      const joinedRows = await joinRows(ctx, { ...joinInput, keys, actedOnly: !mayRepeat, asView: scan.files.length === 0, narrow, late: late && !narrow, positional, ...(positional ? { parts } : {}) });
      // 5. Ambiguity: a target row matched by several source rows.
      if (mayRepeat) await assertUnambiguous(ctx, temp.joined, keys);
      // 6. Which files change, and the counts Delta reports.
      // (An insert-only batch whose keys prune every file: nothing to count, each source row is inserted.)
      // (A join that kept only acted-on rows, and kept none: nothing to count; the usual no-change
      // merge. A positional pairing keeps its failed pairs, so none failed either.)
      return (
        decisionsWithoutTarget(plan, source.numSourceRows - source.numSourceRowsDeduplicated, scan.files) ??
        (!mayRepeat && joinedRows === 0 ? noRowsActedOn() : await decideRows(ctx.compute, temp.joined, plan.clauses, scan.files))
      );
    };
    // A source lined up with the candidate files is paired with them by position (aligned.ts);
    // should a pair fail the join condition, the join is done again by key.
    const positional = !mayRepeat && scan.files.length > 0 && mayPairByPosition(plan, source, snapshot.partitionColumns.length > 0);
    // A large pairing is split into parts the cores pair side by side (one key column: positional
    // pairing needs the key order of a single key).
    // (The parts filter the source by the table's key bounds: only a source key of the table's type.)
    const keyField = snapshot.schema.fields.find((f) => f.name.toLowerCase() === keys[0].toLowerCase());
    const sourceKey = source.schema.fields.find((f) => f.name.toLowerCase() === keys[0].toLowerCase());
    const parts =
      positional && keyField && sourceKey?.type === keyField.type
        ? pairingParts(scan.files, keyField, physicalName(keyField, columnMappingMode(snapshot.metadata)), ctx.compute.threads, source.numSourceRows - source.numSourceRowsDeduplicated)
        : undefined;
    let decisions = await joinAndDecide(positional);
    if (decisions.misaligned > 0) {
      await ctx.compute.run(`DROP TABLE ${temp.joined}`);
      decisions = await joinAndDecide(false);
    }
    const scanTimeMs = Date.now() - scanStarted;
    if (narrow && decisions.rowsOf('matched-update') + decisions.rowsOf('not-matched-insert') !== source.numSourceRows - source.numSourceRowsDeduplicated) {
      // A source row matched several target rows (the target repeats a key): each of them is
      // updated, so the rows to write are the join's, not the source's once. Join again, keeping them.
      narrow = false;
      await ctx.compute.run(`DROP TABLE ${temp.joined}`);
      temp.joinedKind = 'TABLE';
      await joinRows(ctx, { ...joinInput, keys, actedOnly: true, asView: false, narrow, late });
    }
    // 7. Nothing changes (no row updated, deleted or inserted, no schema change, no txn or domain
    // metadata to record): no data file and no empty commit, just the counts.
    const inserts = decisions.rowsOf('not-matched-insert');
    if (decisions.touched.size === 0 && inserts === 0 && target.actions.length === 0 && !this._txn && this._domains.length === 0 && current) {
      const written = { adds: [], numOutputRows: 0, numOutputBytes: 0 };
      const metrics = mergeMetrics({ source, decisions, written, removedFiles: [], candidates: plan.candidates, targetFiles: snapshot.files.length, scanTimeMs, rewriteTimeMs: 0 });
      metrics.executionTimeMs = Date.now() - started;
      return { version: snapshot.version, snapshot, metrics, skipped: 'no target row changes and nothing is inserted; nothing to commit' };
    }
    // 8. Write the rewritten files' rows and the inserts in one pass, then commit.
    const output = await writeMergeOutput(ctx, { target, plan, joined: temp.joined, touched: decisions.touched, scanned: scan.files, scannedDeleted: scan.deletedRows, fromSource: narrow ? source.table : undefined, sourceFile: narrow && source.parquetFile ? { path: source.parquetFile, schema: source.schema, rows: source.numSourceRows - source.numSourceRowsDeduplicated } : undefined, sourceRows: late && !narrow ? { table: source.table, rowId: source.rowId! } : undefined });
    const metrics = mergeMetrics({
      source,
      decisions,
      written: output.written,
      removedFiles: output.removedFiles,
      deletionVectors: output.dv,
      candidates: plan.candidates,
      targetFiles: snapshot.files.length,
      scanTimeMs,
      rewriteTimeMs: output.rewriteTimeMs,
    });
    return commitMerge(this.table, { target, plan, output, metrics, on, keys, sourceTable: source.table, txn: this._txn, domains: this._domains, started });
  }
}
