import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { sqlIdent, sqlString, type Compute } from '../adapters/compute/duckdb.ts';
import type { ObjectMeta, ObjectStore } from '../adapters/storage/object-store.ts';
import type { Clock, IdSource } from '../engine/clock.ts';
import { DeltaTable } from '../engine/table.ts';
import type { PipelineConfig } from './config.ts';
import { crashPoint } from './crash-points.ts';
import { FileRejectedError, PipelineStateError } from './errors.ts';
import { readRaw } from './file-reader.ts';
import { batchFolder, moveOnce, sha256 } from './file-mover.ts';
import type { BatchDone, BatchManifest, BatchState, ManifestFile } from './batch-state.ts';
import type { IngestionLog, LogRow } from './ingestion-log.ts';
import type { Reporter } from './reporter.ts';
import { checkFileSelect, fileSelect, LINEAGE, planFile, RESCUED, type Column, type FilePlan } from './stage-select.ts';
import { committedVersion } from './txn-version.ts';

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
 * the landing folder whether a file was already moved.
 */
export interface PipelineRuntime {
  pipeline: PipelineConfig;
  compute: Compute;
  clock: Clock;
  ids: IdSource;
  state: BatchState;
  /** The states of pipelines sharing the landing folder (json.path fan-out). */
  siblings: BatchState[];
  landing: ObjectStore;
  archive: ObjectStore;
  quarantine: ObjectStore;
  stage: DeltaTable;
  target?: DeltaTable;
  log: IngestionLog;
  reporter: Reporter;
}

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
  rowsRejected: number;
  stageVersion: number | null;
  targetVersion: number | null;
  ms: number;
}

export const stageAppId = (pipeline: string) => `lakelet:${pipeline}:stage`;
export const targetAppId = (pipeline: string) => `lakelet:${pipeline}:target`;

const DELETED = '__lakelet_deleted';
const ORDER = '__lakelet_order';

/** Stage columns without lineage (with `_rescued_data` when the stage has it). */
async function stageColumns(rt: PipelineRuntime): Promise<Column[] | undefined> {
  const snap = await rt.stage.tryLatest();
  if (!snap) return undefined;
  const scan = await rt.stage.scan({ version: snap.version });
  try {
    const cols = await rt.compute.query<{ column_name: string; column_type: string }>(`DESCRIBE SELECT * FROM (${scan.sql})`);
    return cols.filter((c) => !(LINEAGE as readonly string[]).includes(c.column_name)).map((c) => ({ name: c.column_name, type: c.column_type }));
  } finally {
    await scan.release();
  }
}

interface Prepared {
  plans: Map<string, FilePlan>;
  columns: Column[];
  firstSight: boolean;
}

/**
 * Validates the files the batch stages, in arrival order, against the stage's columns; returns
 * a plan per file, or the rejection for each file that cannot be staged.
 */
async function prepare(rt: PipelineRuntime, seq: number, files: { key: string }[], onFile?: (key: string) => void): Promise<Prepared & { rejected: Map<string, FileRejectedError>; readMs: Map<string, number> }> {
  const existing = await stageColumns(rt);
  const columns: Column[] = (existing ?? []).filter((c) => c.name !== RESCUED);
  const plans = new Map<string, FilePlan>();
  const rejected = new Map<string, FileRejectedError>();
  const readMs = new Map<string, number>();
  const firstSight = existing === undefined;
  for (const [i, f] of files.entries()) {
    const started = Date.now();
    const local = rt.landing.localPath(f.key);
    if (!local) throw new PipelineStateError(rt.pipeline.name, `landing ${rt.landing.uri} is not on a local disk; only local landing folders are supported yet`);
    try {
      const raw = await readRaw(rt.compute, rt.pipeline, local, join(rt.pipeline.stateDir, 'work', String(seq)), String(i));
      const trial = [...columns];
      const plan = planFile(rt.pipeline, f.key, raw, trial, firstSight && columns.length === 0);
      if (raw.sql) await checkFileSelect(rt.compute, fileSelect(rt.pipeline, plan, trial, { batch: seq, ingestedAt: 0 }));
      columns.splice(0, columns.length, ...trial);
      plans.set(f.key, plan);
    } catch (err) {
      if (!(err instanceof FileRejectedError)) throw err;
      rejected.set(f.key, err);
    }
    readMs.set(f.key, Date.now() - started);
    onFile?.(f.key);
  }
  return { plans, columns, firstSight, rejected, readMs };
}

/** Plans a batch over landed files (already ordered): hashes, duplicate check, validation, manifest. */
export async function planBatch(rt: PipelineRuntime, candidates: ObjectMeta[]): Promise<{ manifest: BatchManifest; prepared: Prepared } | undefined> {
  const seq = rt.state.nextSeq();
  const now = rt.clock.now();
  const id = rt.ids.uuid().replace(/-/g, '').slice(0, 8);
  const files: ManifestFile[] = [];
  for (const c of candidates) {
    let data: Uint8Array;
    try {
      data = await rt.landing.get(c.key);
    } catch {
      continue; // gone since it was listed
    }
    const sum = sha256(data);
    // Fan-out: a file stays in landing until every pipeline reading the folder has taken it.
    if (rt.siblings.length > 0 && rt.state.tookFile(c.key, sum) && rt.siblings.some((s) => !s.tookFile(c.key, sum))) continue;
    const dupOf = rt.state.stagedBefore(c.key, sum);
    if (dupOf !== undefined) {
      files.push({ key: c.key, size: data.length, mtime: c.lastModified, sha256: sum, outcome: 'duplicate', duplicateOf: dupOf });
    } else {
      files.push({ key: c.key, size: data.length, mtime: c.lastModified, sha256: sum, outcome: 'stage' });
    }
  }
  if (files.length === 0) return undefined;
  const started = Date.now();
  const bar = rt.reporter.progress(`${rt.pipeline.name} batch ${seq}`, files.length);
  const toStage = files.filter((f) => f.outcome === 'stage');
  const prepared = await prepare(rt, seq, toStage, (key) => bar.tick(1, key));
  bar.stop();
  for (const f of toStage) {
    const rejection = prepared.rejected.get(f.key);
    if (rejection) {
      f.outcome = 'quarantine';
      f.error = { kind: rejection.kind, message: rejection.detail, ...(rejection.position ? { position: rejection.position } : {}), ...(rejection.hint ? { hint: rejection.hint } : {}) };
      continue;
    }
    const plan = prepared.plans.get(f.key)!;
    f.records = plan.raw.records;
    if (plan.raw.repaired.length) f.repaired = plan.raw.repaired;
  }
  const manifest: BatchManifest = {
    pipeline: rt.pipeline.name,
    seq,
    batchId: id,
    createdAt: now,
    ingestedAt: now,
    folder: batchFolder(now, id),
    files,
    readMs: Date.now() - started,
  };
  await rt.state.writeManifest(manifest);
  rt.reporter.event('info', 'batch.planned', {
    pipeline: rt.pipeline.name,
    batch: seq,
    files: files.length,
    stage: files.filter((f) => f.outcome === 'stage').length,
    quarantine: files.filter((f) => f.outcome === 'quarantine').length,
    duplicate: files.filter((f) => f.outcome === 'duplicate').length,
  });
  crashPoint('after-manifest', seq);
  return { manifest, prepared };
}

/** Runs (or, after a crash, finishes) every remaining step of a planned batch. */
export async function completeBatch(rt: PipelineRuntime, manifest: BatchManifest, prepared: Prepared | undefined): Promise<BatchOutcome> {
  const started = Date.now();
  const recovered = prepared === undefined;
  const { pipeline } = rt;
  const seq = manifest.seq;
  const shared = rt.siblings.length > 0;
  if (recovered) rt.reporter.event('warn', 'batch.recover', { pipeline: pipeline.name, batch: seq, message: 'finishing a batch an earlier run left unfinished' });

  // 1. Quarantine.
  const movedTo = new Map<string, string>();
  for (const f of manifest.files.filter((x) => x.outcome === 'quarantine')) {
    const dest = `${manifest.folder}/${f.key}`;
    await rt.quarantine.putIfAbsent(`${dest}.error.json`, JSON.stringify(errorDocument(rt, manifest, f), null, 2) + '\n');
    const r = await moveOnce(rt.landing, f.key, rt.quarantine, dest, f.sha256, pipeline.name, shared);
    if (r !== 'changed' && r !== 'missing') movedTo.set(f.key, `${rt.quarantine.uri}/${dest}`);
    rt.reporter.event('warn', 'file.quarantined', { pipeline: pipeline.name, batch: seq, file: f.key, kind: f.error?.kind, error: f.error?.message, line: f.error?.position?.line });
  }
  crashPoint('after-quarantine', seq);

  // 2. Stage.
  const stageFiles = manifest.files.filter((f) => f.outcome === 'stage');
  const stageStarted = Date.now();
  let stageVersion: number | null = null;
  let rowsStaged = 0;
  const hasRows = stageFiles.some((f) => (f.records ?? 0) > 0);
  if (hasRows) {
    const done = await committedVersion(rt.stage, stageAppId(pipeline.name), seq);
    if (done !== undefined) {
      stageVersion = done;
    } else {
      let prep = prepared;
      if (!prep) {
        const redo = await prepare(rt, seq, stageFiles);
        if (redo.rejected.size > 0) {
          const [key, err] = [...redo.rejected][0];
          throw new PipelineStateError(pipeline.name, `batch ${seq}: ${key} passed validation when planned but now fails (${err.message}); was it changed in ${pipeline.landing}?`);
        }
        prep = redo;
      }
      const selects = stageFiles
        .map((f) => prep!.plans.get(f.key)!)
        .filter((p) => p.raw.sql !== undefined)
        .map((p) => fileSelect(pipeline, p, prep!.columns, { batch: seq, ingestedAt: manifest.ingestedAt }));
      const sql = selects.map((s) => `(${s})`).join(' UNION ALL ');
      const result = await rt.stage
        .write({ sql })
        .mode('append')
        .mergeSchema(pipeline.schemaDrift === 'evolve')
        .txn(stageAppId(pipeline.name), seq)
        .execute();
      stageVersion = result.version;
      rowsStaged = result.metrics.numOutputRows;
      rt.reporter.event('info', 'batch.staged', { pipeline: pipeline.name, batch: seq, version: stageVersion, rows: rowsStaged, skipped: result.skipped });
    }
    crashPoint('after-stage-commit', seq);
  }
  const stageMs = Date.now() - stageStarted;

  // 3. Archive (staged and duplicate files). Shared landing: the last pipeline to take a file moves it.
  for (const f of manifest.files.filter((x) => x.outcome !== 'quarantine' || shared)) {
    if (shared && rt.siblings.some((s) => !s.tookFile(f.key, f.sha256))) continue;
    const dest = `${manifest.folder}/${f.key}`;
    const r = await moveOnce(rt.landing, f.key, rt.archive, dest, f.sha256, pipeline.name);
    if ((r === 'moved' || r === 'already-moved') && f.outcome !== 'quarantine') movedTo.set(f.key, `${rt.archive.uri}/${dest}`);
    if (r === 'missing' || r === 'changed') rt.reporter.event('warn', 'file.not-archived', { pipeline: pipeline.name, batch: seq, file: f.key, reason: r });
    if (f.outcome === 'duplicate') rt.reporter.event('info', 'file.duplicate', { pipeline: pipeline.name, batch: seq, file: f.key, duplicateOf: f.duplicateOf });
  }
  crashPoint('after-archive', seq);

  // 4. Target.
  const mergeStarted = Date.now();
  let targetVersion: number | null = null;
  let metrics = { inserted: 0, updated: 0, deleted: 0 };
  if (rt.target && hasRows) {
    const done = await committedVersion(rt.target, targetAppId(pipeline.name), seq);
    if (done !== undefined) {
      targetVersion = done;
      metrics = await mergeMetricsAt(rt.target, done);
    } else {
      const r = await mergeBatch(rt, manifest);
      targetVersion = r.version;
      metrics = r.metrics;
    }
    crashPoint('after-target-commit', seq);
  }
  const mergeMs = Date.now() - mergeStarted;

  // 5. Ingestion log, 6. done.
  const perFile = hasRows ? await stageCounts(rt, seq) : new Map<string, { rejected: number; rescued: number }>();
  const now = rt.clock.now();
  const totalMs = Date.now() - started + (recovered ? 0 : manifest.readMs);
  const rows: LogRow[] = manifest.files.map((f) => ({
    pipeline: pipeline.name,
    batch: seq,
    file_name: f.key,
    size: f.size,
    sha256: f.sha256,
    records: f.records ?? 0,
    rows_rejected: perFile.get(f.key)?.rejected ?? 0,
    rows_rescued: perFile.get(f.key)?.rescued ?? 0,
    status: f.outcome === 'quarantine' ? 'quarantined' : f.outcome === 'duplicate' ? 'duplicate' : rt.target ? 'merged' : 'staged',
    stage_version: f.outcome === 'stage' ? stageVersion : null,
    target_version: f.outcome === 'stage' ? targetVersion : null,
    read_ms: recovered ? 0 : Math.round(manifest.readMs / Math.max(1, manifest.files.length)),
    stage_ms: f.outcome === 'stage' ? stageMs : 0,
    merge_ms: f.outcome === 'stage' ? mergeMs : 0,
    total_ms: totalMs,
    error: f.error ? `${f.error.kind}: ${f.error.message}${f.error.position ? ` (line ${f.error.position.line}, column ${f.error.position.column})` : ''}` : f.outcome === 'duplicate' ? `same name and sha256 as batch ${f.duplicateOf}` : null,
    repaired: (f.repaired?.length ?? 0) > 0,
    repairs: f.repaired?.length ? f.repaired.join('; ') : null,
    moved_to: movedTo.get(f.key) ?? null,
    logged_at: now,
  }));
  const logVersion = await rt.log.append(pipeline.name, seq, rows);
  crashPoint('after-log', seq);
  const done: BatchDone = {
    seq,
    finishedAt: now,
    stageVersion,
    targetVersion,
    logVersion,
    rowsInserted: metrics.inserted,
    rowsUpdated: metrics.updated,
    rowsDeleted: metrics.deleted,
    recovered,
  };
  await rt.state.markDone(done);
  await rm(join(pipeline.stateDir, 'work', String(seq)), { recursive: true, force: true });
  const outcome: BatchOutcome = {
    seq,
    recovered,
    files: manifest.files.length,
    staged: stageFiles.length,
    quarantined: manifest.files.filter((f) => f.outcome === 'quarantine').length,
    duplicates: manifest.files.filter((f) => f.outcome === 'duplicate').length,
    rowsStaged: stageFiles.reduce((a, f) => a + (f.records ?? 0), 0),
    rowsInserted: metrics.inserted,
    rowsUpdated: metrics.updated,
    rowsDeleted: metrics.deleted,
    rowsRejected: [...perFile.values()].reduce((a, v) => a + v.rejected, 0),
    stageVersion,
    targetVersion,
    ms: Date.now() - started,
  };
  rt.reporter.event('info', 'batch.done', { pipeline: pipeline.name, ...outcome });
  return outcome;
}

function errorDocument(rt: PipelineRuntime, manifest: BatchManifest, f: ManifestFile): Record<string, unknown> {
  return {
    pipeline: rt.pipeline.name,
    batch: manifest.seq,
    file: f.key,
    landing: rt.pipeline.landing,
    size: f.size,
    sha256: f.sha256,
    format: rt.pipeline.format,
    kind: f.error?.kind,
    error: f.error?.message,
    ...(f.error?.position ? { line: f.error.position.line, column: f.error.position.column } : {}),
    ...(f.error?.hint ? { hint: f.error.hint } : {}),
    quarantinedAt: new Date(manifest.createdAt).toISOString(),
  };
}

/** Per file of the batch: stage rows whose key is NULL (not merged) and rows with rescued data. */
async function stageCounts(rt: PipelineRuntime, seq: number): Promise<Map<string, { rejected: number; rescued: number }>> {
  const scan = await rt.stage.scan({ where: `_batch = ${seq}` });
  try {
    const cols = await rt.compute.query<{ column_name: string }>(`DESCRIBE SELECT * FROM (${scan.sql})`);
    const hasRescue = cols.some((c) => c.column_name === RESCUED);
    const nullKey = rt.target && rt.pipeline.key.length ? rt.pipeline.key.map((k) => `${sqlIdent(k)} IS NULL`).join(' OR ') : 'false';
    const rows = await rt.compute.query<{ f: string; rejected: string | number; rescued: string | number }>(
      `SELECT _source_file AS f, count(*) FILTER (WHERE ${nullKey}) AS rejected, ${hasRescue ? `count(${RESCUED})` : '0'} AS rescued FROM (${scan.sql}) WHERE _batch = ${seq} GROUP BY 1`,
    );
    return new Map(rows.map((r) => [r.f, { rejected: Number(r.rejected), rescued: Number(r.rescued) }]));
  } finally {
    await scan.release();
  }
}

/**
 * MERGE the batch's stage rows into the target on the key: one row per key (the latest by
 * orderBy, then arrival order), deletes by the marker, and a row never replaced by an older one.
 */
async function mergeBatch(rt: PipelineRuntime, manifest: BatchManifest): Promise<{ version: number; metrics: { inserted: number; updated: number; deleted: number } }> {
  const { pipeline } = rt;
  const target = rt.target!;
  const seq = manifest.seq;
  const scan = await rt.stage.scan({ where: `_batch = ${seq}` });
  try {
    const cols = await rt.compute.query<{ column_name: string; column_type: string }>(`DESCRIBE SELECT * FROM (${scan.sql})`);
    const marker = pipeline.deletes?.column;
    const business = cols.map((c) => c.column_name).filter((c) => !(LINEAGE as readonly string[]).includes(c) && c.toLowerCase() !== marker?.toLowerCase());
    const fileOrder = manifest.files.map((f, i) => `WHEN ${sqlString(f.key)} THEN ${i}`).join(' ');
    const markerPresent = marker && cols.some((c) => c.column_name.toLowerCase() === marker.toLowerCase());
    const deleted = markerPresent
      ? `coalesce(CAST(${sqlIdent(marker!)} AS VARCHAR) IN (${pipeline.deletes!.values.map((v) => sqlString(String(v))).join(', ')}), false)`
      : 'false';
    const order = `struct_pack(o := ${pipeline.orderBy ? sqlIdent(pipeline.orderBy) : 'NULL'}, f := CASE _source_file ${fileOrder} END, r := _row_number)`;
    const keyNotNull = pipeline.key.map((k) => `${sqlIdent(k)} IS NOT NULL`).join(' AND ');
    const source = `SELECT ${business.map(sqlIdent).join(', ')}, ${deleted} AS ${DELETED}, ${order} AS ${ORDER} FROM (${scan.sql}) WHERE _batch = ${seq} AND ${keyNotNull}`;

    // The target holds the business columns only: create it, or add columns the stage gained (evolve).
    const snap = await target.tryLatest();
    const businessSql = `SELECT ${business.map(sqlIdent).join(', ')} FROM (${source}) WHERE false`;
    if (!snap) {
      await target.write({ sql: businessSql }).partitionBy(...pipeline.partitionBy).execute();
    } else if (business.some((b) => !snap.schema.fields.some((f) => f.name.toLowerCase() === b.toLowerCase()))) {
      if (pipeline.schemaDrift === 'evolve') await target.write({ sql: businessSql }).mode('append').mergeSchema().execute();
    }
    const newer = pipeline.orderBy ? `(t.${sqlIdent(pipeline.orderBy)} IS NULL OR s.${sqlIdent(pipeline.orderBy)} >= t.${sqlIdent(pipeline.orderBy)})` : undefined;
    let merge = target.merge({ sql: source }, { on: pipeline.key }).dedupBy(ORDER);
    if (markerPresent) merge = merge.whenMatchedDelete(newer ? `s.${DELETED} AND ${newer}` : `s.${DELETED}`);
    merge = merge.whenMatchedUpdateAll(newer ? (markerPresent ? `NOT s.${DELETED} AND ${newer}` : newer) : markerPresent ? `NOT s.${DELETED}` : undefined);
    merge = merge.whenNotMatchedInsertAll(markerPresent ? `NOT s.${DELETED}` : undefined);
    const result = await merge.txn(targetAppId(pipeline.name), seq).execute();
    const m = result.metrics;
    rt.reporter.event('info', 'batch.merged', {
      pipeline: pipeline.name,
      batch: seq,
      version: result.version,
      sourceRows: m.numSourceRows,
      inserted: m.numTargetRowsInserted,
      updated: m.numTargetRowsUpdated,
      deleted: m.numTargetRowsDeleted,
      skipped: result.skipped,
    });
    if (result.skipped) return { version: (await committedVersion(target, targetAppId(pipeline.name), seq)) ?? result.version, metrics: await mergeMetricsAt(target, result.version) };
    return { version: result.version, metrics: { inserted: m.numTargetRowsInserted, updated: m.numTargetRowsUpdated, deleted: m.numTargetRowsDeleted } };
  } finally {
    await scan.release();
  }
}

/** The row counts a MERGE recorded in its commit (after a crash, from the table's history). */
async function mergeMetricsAt(table: DeltaTable, version: number): Promise<{ inserted: number; updated: number; deleted: number }> {
  const latest = await table.tryLatest();
  if (!latest) return { inserted: 0, updated: 0, deleted: 0 };
  const entries = await table.history(latest.version - version + 1);
  const e = entries.find((x) => x.version === version);
  const m = e?.operationMetrics ?? {};
  return { inserted: Number(m.numTargetRowsInserted ?? 0), updated: Number(m.numTargetRowsUpdated ?? 0), deleted: Number(m.numTargetRowsDeleted ?? 0) };
}
