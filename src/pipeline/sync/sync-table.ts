import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Compute } from '../../adapters/compute/compute.ts';
import { sqlIdent } from '../../adapters/compute/sql.ts';
import type { PageRequest, Position, SourceConnection, TextRow } from '../../adapters/sources/source.ts';
import { LocalObjectStore } from '../../adapters/storage/local/local-object-store.ts';
import type { Clock } from '../../adapters/clock.ts';
import type { Column, PipelineTables, Warehouse } from '../../warehouse/warehouse.ts';
import { crashPoint } from '../crash-points.ts';
import { PipelineStateError } from '../errors.ts';
import type { Reporter } from '../reporter.ts';
import type { SourceConfig } from '../source-config.ts';
import { ExtractWriter, type ExtractColumn } from './extract-writer.ts';
import { keyDiffDeletes, keyDiffFile } from './key-diff.ts';
import { parseSyncState, SYNC_STATE_KEY, type PendingBatch, type SyncState } from './sync-state.ts';
import type { TablePlan } from './table-plan.ts';

/** The soft-delete marker the extract derives (never a target column: the upsert drops markers). */
const DELETED = '__lakelet_deleted';

export interface SyncContext {
  source: SourceConfig;
  conn: SourceConnection;
  warehouse: Warehouse;
  compute: Compute;
  clock: Clock;
  reporter: Reporter;
  full: boolean;
}

export interface TableOutcome {
  source: string;
  table: string;
  mode: 'incremental' | 'full';
  seq: number | null;
  pages: number;
  files: number;
  rowsRead: number;
  inserted: number;
  updated: number;
  deleted: number;
  watermark: Position | null;
  recovered: boolean;
  drift: string[];
  /** Key-diff deletes: source keys compared, target rows deleted because their key vanished. */
  keyDiff?: { sourceKeys: number; deletes: number };
  ms: number;
}

/** The sync's names for one table's stage, target and bookkeeping. */
export function tableLocations(source: SourceConfig, slug: string) {
  return { name: `sync.${source.name}.${slug}`, stage: join(source.stage, slug), target: join(source.target, slug), stateDir: join(source.stateDir, 'tables', slug) };
}

export async function openSyncTables(warehouse: Warehouse, source: SourceConfig, plan: { slug: string; softDelete?: string; keyDiff?: unknown; mode: string }): Promise<PipelineTables> {
  const loc = tableLocations(source, plan.slug);
  return warehouse.pipelineTables({ name: loc.name, stage: loc.stage, target: loc.target, stageProperties: {}, targetProperties: source.targetProperties, stateDir: loc.stateDir, tombstones: (plan.softDelete !== undefined || plan.keyDiff !== undefined) && plan.mode === 'incremental' });
}

/**
 * One table, once: finish a batch a crash left staged but not merged, then read the rows past the
 * committed watermark page by page (ordered by watermark, then key; the first page reaches back by
 * the lookback window) into Parquet, stage them, and MERGE them into the target with the new
 * watermark in the same commit. Crash points: after-extract, after-stage-commit, after-target-commit.
 */
export async function syncTable(ctx: SyncContext, plan: Exclude<TablePlan, { mode: 'skip' }>): Promise<TableOutcome> {
  const started = ctx.clock.now();
  const { source } = ctx;
  const loc = tableLocations(source, plan.slug);
  const tables = await openSyncTables(ctx.warehouse, source, plan);
  const outcome: TableOutcome = { source: source.name, table: plan.id, mode: ctx.full ? 'full' : plan.mode, seq: null, pages: 0, files: 0, rowsRead: 0, inserted: 0, updated: 0, deleted: 0, watermark: null, recovered: false, drift: [], ms: 0 };
  try {
    let state = parseSyncState(await tables.committedState(SYNC_STATE_KEY));
    // A batch staged by a run that died before its MERGE: merge it now, with the state it carries.
    const next = (state?.seq ?? 0) + 1;
    const pendingFile = join(loc.stateDir, 'pending.json');
    if ((await tables.ledger.stageVersion(next)) !== undefined && (await tables.ledger.targetVersion(next)) === undefined) {
      const pending = JSON.parse(await readFile(pendingFile, 'utf8')) as PendingBatch;
      if (pending.seq !== next) throw new PipelineStateError(loc.name, `batch ${next} is staged but ${pendingFile} holds batch ${pending.seq}; remove the stage table ${loc.stage} to start over`);
      ctx.reporter.event('warn', 'sync.recover', { source: source.name, table: plan.id, batch: next, message: 'merging a batch an earlier run staged but did not merge' });
      const m = await merge(ctx, tables, plan, pending.state, outcome);
      crashPoint('after-target-commit', next);
      Object.assign(outcome, { recovered: true, inserted: m.inserted, updated: m.updated, deleted: m.deleted });
      state = pending.state;
    }
    await rm(pendingFile, { force: true });

    const seq = (state?.seq ?? 0) + 1;
    const work = join(loc.stateDir, 'work', String(seq));
    await rm(join(loc.stateDir, 'work'), { recursive: true, force: true });
    const columns = await driftColumns(ctx, tables, plan, outcome);
    const from = ctx.full || plan.mode === 'full' ? undefined : (state?.watermark ?? undefined);
    const writer = new ExtractWriter(ctx.compute, work, {
      columns: columns.extract,
      derived: plan.softDelete || plan.keyDiff ? [{ name: DELETED, sql: plan.softDelete ? softDeleteSql(plan.softDelete, columns.extract, plan.table.columns) : 'false' }] : [],
      missing: columns.missing,
      lineage: { batch: seq, sourceFile: `${source.name}:${plan.id}`, ingestedAt: started },
      rowsPerFile: source.rowsPerFile,
    });
    const watermark = plan.mode === 'incremental' ? plan.watermark : undefined;
    const wmIndex = watermark ? plan.table.columns.findIndex((c) => c.name === watermark) : -1;
    const keyIndexes = plan.table.primaryKey.map((k) => plan.table.columns.findIndex((c) => c.name === k));
    const positionOf = (row: TextRow): Position => ({ value: wmIndex >= 0 ? row[wmIndex]! : '', key: keyIndexes.map((i) => row[i]!) });
    const keep = columns.keep;
    // The pages of one request into the extract, each after the last row the one before read (by
    // watermark and key; by key alone for NULL watermarks, whose position's value is not used),
    // until a page comes back short. Returns the last row read.
    const readPages = async (first: Omit<PageRequest, 'limit'>, countEmpty: boolean): Promise<TextRow | undefined> => {
      let request: PageRequest = { ...first, limit: source.pageSize };
      let lastRow: TextRow | undefined;
      for (;;) {
        let n = 0;
        for await (const row of ctx.conn.page(request)) {
          await writer.write(keep ? keep.map((i) => row[i]) : row);
          lastRow = row;
          n++;
        }
        if (n > 0 || countEmpty) outcome.pages++;
        if (n < source.pageSize) return lastRow;
        const { since: _lookback, ...rest } = request;
        request = { ...rest, after: positionOf(lastRow!) };
      }
    };
    const after = from && source.lookbackMs === 0 ? from : undefined;
    const since = from && source.lookbackMs > 0 ? { value: from.value, lookbackMs: source.lookbackMs } : undefined;
    const last = await readPages({ table: plan.table, watermark, ...(after ? { after } : {}), ...(since ? { since } : {}) }, true);
    // Rows whose watermark is NULL have no place in that order, so no run would ever reach them:
    // they are read whole, by key, on every run (the MERGE leaves the unchanged ones alone). Their
    // pages are counted when they hold rows: a table without such rows shows the pages it had before.
    if (watermark) {
      const before = writer.rows;
      await readPages({ table: plan.table, watermark, nullWatermark: true }, false);
      const nulls = writer.rows - before;
      if (nulls > 0) ctx.reporter.event('info', 'sync.null-watermark', { source: source.name, table: plan.id, rows: nulls, column: watermark, message: `${nulls} rows have no ${watermark}: they are read on every run` });
    }
    const files = await writer.finish({ atLeastOne: plan.keyDiff !== undefined });
    outcome.rowsRead = writer.rows;
    if (plan.keyDiff) {
      const diff = await keyDiffDeletes({
        conn: ctx.conn,
        compute: ctx.compute,
        tables,
        table: plan.table,
        keyDiff: plan.keyDiff,
        watermark,
        newest: last ? positionOf(last).value : state?.watermark?.value,
        extract: writer.rows > 0 ? files : [],
        template: files[0]!,
        dir: work,
        pageSize: source.pageSize,
        deletedColumn: DELETED,
        lineage: { batch: seq, sourceFile: keyDiffFile(source.name, plan.id), ingestedAt: started },
      });
      if (diff.file) files.push(diff.file);
      outcome.keyDiff = { sourceKeys: diff.sourceKeys, deletes: diff.deletes };
      ctx.reporter.event('info', 'sync.key-diff', { source: source.name, table: plan.id, batch: seq, sourceKeys: diff.sourceKeys, deletes: diff.deletes });
    }
    outcome.files = files.length;
    crashPoint('after-extract', seq);
    if (writer.rows === 0 && !outcome.keyDiff?.deletes) {
      outcome.watermark = state?.watermark ?? null;
      return outcome;
    }
    const newState: SyncState = {
      table: plan.id,
      seq,
      watermark: watermark ? (last ? positionOf(last) : (state?.watermark ?? null)) : null,
      rowsLastRun: writer.rows,
      rowsTotal: (state?.rowsTotal ?? 0) + writer.rows,
      startedAt: started,
      committedAt: ctx.clock.now(),
    };
    await writeAtomically(pendingFile, JSON.stringify({ seq, state: newState, files } satisfies PendingBatch));
    const store = new LocalObjectStore(work);
    const staged = await tables.stage({ seq, files: files.map((f) => ({ store, key: basename(f) })), addColumns: source.schemaDrift === 'evolve' });
    ctx.reporter.event('info', 'sync.staged', { source: source.name, table: plan.id, batch: seq, version: staged.version, rows: staged.rows });
    crashPoint('after-stage-commit', seq);
    const m = await merge(ctx, tables, plan, newState, outcome);
    crashPoint('after-target-commit', seq);
    await rm(pendingFile, { force: true });
    await rm(join(loc.stateDir, 'work'), { recursive: true, force: true });
    // The stage holds each batch only until it is merged: the source is the place to re-read from.
    await tables.retainStage(seq, undefined);
    Object.assign(outcome, { seq, inserted: outcome.inserted + m.inserted, updated: outcome.updated + m.updated, deleted: outcome.deleted + m.deleted, watermark: newState.watermark });
    return outcome;
  } finally {
    outcome.ms = ctx.clock.now() - started;
    tables.close();
  }
}

async function merge(ctx: SyncContext, tables: PipelineTables, plan: Exclude<TablePlan, { mode: 'skip' }>, state: SyncState, outcome: TableOutcome) {
  const r = await tables.upsert({
    seq: state.seq,
    key: plan.table.primaryKey,
    ...(plan.mode === 'incremental' ? { orderBy: plan.watermark } : {}),
    ...(plan.softDelete || plan.keyDiff ? { deletes: { column: DELETED, values: [true] } } : {}),
    partitionBy: [],
    fileOrder: [`${ctx.source.name}:${plan.id}`, ...(plan.keyDiff ? [keyDiffFile(ctx.source.name, plan.id)] : [])],
    addColumns: ctx.source.schemaDrift === 'evolve',
    changedOnly: true,
    state: { key: SYNC_STATE_KEY, value: JSON.stringify(state) },
  }, () => crashPoint('after-tombstones', state.seq));
  ctx.reporter.event('info', 'sync.merged', { source: ctx.source.name, table: plan.id, batch: state.seq, version: r.version, ...r.metrics, watermark: state.watermark?.value });
  outcome.seq = state.seq;
  return r.metrics;
}

/** A marker for soft-deleted rows: a boolean column that is true, any other that is set. */
function softDeleteSql(column: string, extract: ExtractColumn[], all: { name: string; duckType: string }[]): string {
  if (!extract.some((c) => c.name === column)) return 'false';
  const type = all.find((c) => c.name === column)?.duckType;
  return type === 'BOOLEAN' ? `coalesce(${sqlIdent(column)}, false)` : `(${sqlIdent(column)} IS NOT NULL)`;
}

const LAKE_ALIASES: Record<string, string> = { JSON: 'VARCHAR', UUID: 'VARCHAR', UINTEGER: 'BIGINT', USMALLINT: 'INTEGER', UTINYINT: 'SMALLINT', TIMESTAMPTZ: 'TIMESTAMP WITH TIME ZONE' };
const lakeType = (t: string) => LAKE_ALIASES[t.toUpperCase()] ?? t.toUpperCase();

/**
 * Schema drift against the stage (the columns earlier batches had), per the source's policy:
 * evolve: new columns are added, dropped ones become NULL, a retyped one is cast to the type it has
 * in the lake; ignore: new columns are left out, dropped ones NULL; fail: any of it stops the table.
 */
async function driftColumns(ctx: SyncContext, tables: PipelineTables, plan: Exclude<TablePlan, { mode: 'skip' }>, outcome: TableOutcome) {
  const source = plan.table.columns;
  const existing: Column[] = ((await tables.stageColumns()) ?? []).filter((c) => c.name !== DELETED);
  const asIs = { extract: source.map((c) => ({ name: c.name, decode: c.decode })), missing: [] as { name: string; type: string }[], keep: undefined as number[] | undefined };
  if (existing.length === 0) return asIs;
  const added = source.filter((c) => !existing.some((e) => e.name === c.name));
  const dropped = existing.filter((e) => !source.some((c) => c.name === e.name));
  const retyped = source.filter((c) => existing.some((e) => e.name === c.name && lakeType(e.type) !== lakeType(c.duckType)));
  const what = [
    ...added.map((c) => `column ${c.name} (${c.sourceType}) was added`),
    ...dropped.map((c) => `column ${c.name} was dropped`),
    ...retyped.map((c) => `column ${c.name} changed type to ${c.sourceType} (${c.duckType}; the lake has ${existing.find((e) => e.name === c.name)!.type})`),
  ];
  if (what.length === 0) return asIs;
  const policy = ctx.source.schemaDrift;
  if (policy === 'fail') {
    throw new PipelineStateError(`sync.${ctx.source.name}.${plan.slug}`, `table ${plan.id} changed in the source: ${what.join('; ')}; schemaDrift is fail, so nothing was synced. Set schemaDrift: evolve (or ignore) for source '${ctx.source.name}', or alter the target to match.`);
  }
  outcome.drift = what;
  ctx.reporter.event('warn', 'sync.schema-drift', { source: ctx.source.name, table: plan.id, policy, changes: what });
  const keep: number[] = [];
  const extract: ExtractColumn[] = [];
  source.forEach((c, i) => {
    if (policy === 'ignore' && added.includes(c)) return;
    keep.push(i);
    const lake = existing.find((e) => e.name === c.name);
    extract.push({ name: c.name, decode: lake && retyped.includes(c) ? (e) => `CAST(${c.decode(e)} AS ${lake.type})` : c.decode });
  });
  return { extract, missing: dropped.map((d) => ({ name: d.name, type: d.type })), keep: keep.length === source.length ? undefined : keep };
}

async function writeAtomically(file: string, text: string): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  await writeFile(`${file}.tmp`, text);
  await rename(`${file}.tmp`, file);
}
